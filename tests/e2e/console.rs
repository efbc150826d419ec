//! The web console in a real headless Chromium (Debian's `chromium` and `chromium-driver`):
//! starting an execution from its page and watching it turn green, a failed execution's state
//! and cause, paging through a long history, user data shown as text, and the console's login
//! and CSRF checks.

use std::time::Duration;

use fantoccini::Locator;
use switchback_tests::TestApp;
use switchback_tests::browser::Browser;
use switchback_tests::raw;

async fn create_machine(app: &TestApp, name: &str, definition: &str) -> String {
    app.client
        .create_state_machine()
        .name(name)
        .definition(definition)
        .role_arn("arn:aws:iam::123456789012:role/r")
        .send()
        .await
        .expect("create")
        .state_machine_arn()
        .to_owned()
}

async fn wait_for_end(app: &TestApp, arn: &str) -> String {
    for _ in 0..200 {
        let described = app
            .client
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await
            .expect("describe");
        if described.status().as_str() != "RUNNING" {
            return described.status().as_str().to_owned();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{arn} did not end");
}

fn execution_page(app: &TestApp, arn: &str) -> String {
    format!("{}/console/execution?arn={arn}", app.endpoint())
}

/// A state's colour in the page's graph.
async fn state_status(browser: &Browser, state: &str) -> Option<String> {
    let found = browser
        .client
        .find(Locator::Css(&format!("g.state[data-state='{state}']")))
        .await
        .ok()?;
    found.attr("data-status").await.ok().flatten()
}

#[tokio::test]
async fn an_execution_started_from_its_page_turns_green_by_itself() {
    let app = TestApp::spawn().await;
    create_machine(
        &app,
        "greens",
        r#"{"StartAt": "Prepare", "States": {
            "Prepare": {"Type": "Pass", "Next": "Pause"},
            "Pause": {"Type": "Wait", "Seconds": 5, "Next": "Done"},
            "Done": {"Type": "Succeed"}}}"#,
    )
    .await;
    let browser = Browser::start().await;
    let page = &browser.client;
    page.goto(&format!("{}/console/", app.endpoint()))
        .await
        .expect("the console");
    page.find(Locator::LinkText("greens"))
        .await
        .expect("the machine is listed")
        .click()
        .await
        .expect("open the machine");

    // Input that is not JSON is caught before it is sent.
    let form = page
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("start-form"))
        .await
        .expect("a start form");
    let input = form
        .find(Locator::Css("textarea[name=input]"))
        .await
        .expect("input");
    input.clear().await.expect("clear");
    input.send_keys("{not json").await.expect("type");
    form.find(Locator::Css("button[type=submit]"))
        .await
        .expect("button")
        .click()
        .await
        .expect("submit");
    let complaint = page
        .find(Locator::Css(".json-error"))
        .await
        .expect("the complaint");
    assert!(
        complaint
            .text()
            .await
            .expect("text")
            .starts_with("The input is not JSON")
    );

    input.clear().await.expect("clear");
    input
        .send_keys(r#"{"who": "the browser"}"#)
        .await
        .expect("type");
    form.find(Locator::Css("input[name=name]"))
        .await
        .expect("name")
        .send_keys("from-the-page")
        .await
        .expect("type");
    form.find(Locator::Css("button[type=submit]"))
        .await
        .expect("button")
        .click()
        .await
        .expect("submit");

    // The execution's page: running first, then green without a reload.
    browser
        .until(Duration::from_secs(10), "the execution page", || async {
            page.current_url().await.is_ok_and(|url| {
                url.as_str().contains("execution%3Agreens%3Afrom-the-page")
                    || url.as_str().contains("execution:greens:from-the-page")
            })
        })
        .await;
    browser
        .until(Duration::from_secs(10), "the wait to run", || async {
            state_status(&browser, "Pause").await.as_deref() == Some("running")
        })
        .await;
    page.execute("window.sameDocument = true;", vec![])
        .await
        .expect("mark the document");
    browser
        .until(
            Duration::from_secs(15),
            "the graph to turn green",
            || async { state_status(&browser, "Done").await.as_deref() == Some("succeeded") },
        )
        .await;
    for state in ["Prepare", "Pause"] {
        assert_eq!(
            state_status(&browser, state).await.as_deref(),
            Some("succeeded")
        );
    }
    let same = page
        .execute("return window.sameDocument === true;", vec![])
        .await
        .expect("read the mark");
    assert_eq!(same, serde_json::Value::Bool(true), "the page was reloaded");
    let input_shown = page
        .find(Locator::Id("input"))
        .await
        .expect("input")
        .text()
        .await
        .expect("text");
    assert!(
        input_shown.contains("\"who\": \"the browser\""),
        "{input_shown}"
    );
    browser.close().await;
    app.stop().await;
}

#[tokio::test]
async fn a_failed_execution_shows_its_failed_state_and_cause_as_text() {
    let app = TestApp::spawn().await;
    let machine = create_machine(
        &app,
        "breaks",
        r#"{"StartAt": "Try", "States": {
            "Try": {"Type": "Choice", "Choices": [{"Variable": "$.never", "IsPresent": true, "Next": "Never"}], "Default": "Explode"},
            "Explode": {"Type": "Fail", "Error": "Boom", "Cause": "<img src=x onerror=\"document.title='pwned'\"> it broke"},
            "Never": {"Type": "Succeed"}}}"#,
    )
    .await;
    let started = app
        .client
        .start_execution()
        .state_machine_arn(&machine)
        .name("broken")
        // Longer than the start of an event that outlines it: only that start is read.
        .input(format!(
            r#"{{"html": "<script>document.title='pwned'</script>", "pad": "{}"}}"#,
            "x".repeat(5000)
        ))
        .send()
        .await
        .expect("start");
    assert_eq!(wait_for_end(&app, started.execution_arn()).await, "FAILED");

    let browser = Browser::start().await;
    let page = &browser.client;
    page.goto(&execution_page(&app, started.execution_arn()))
        .await
        .expect("the execution's page");
    assert_eq!(
        state_status(&browser, "Explode").await.as_deref(),
        Some("failed")
    );
    assert_eq!(
        state_status(&browser, "Try").await.as_deref(),
        Some("succeeded")
    );
    assert_eq!(
        state_status(&browser, "Never").await.as_deref(),
        Some("not-reached")
    );
    let text = |id: &'static str| async move {
        page.find(Locator::Id(id))
            .await
            .expect("shown")
            .text()
            .await
            .expect("text")
    };
    assert_eq!(text("error").await, "Boom");
    // User data is text, never markup: the cause and the input read as written, and neither
    // ran.
    assert!(text("cause").await.contains("<img src=x onerror="));
    assert!(
        text("input")
            .await
            .contains("<script>document.title='pwned'</script>")
    );
    let title = page.title().await.expect("title");
    assert!(title.starts_with("broken"), "{title}");
    let images = page
        .find_all(Locator::Css("main img"))
        .await
        .expect("query");
    assert!(images.is_empty());
    browser.close().await;
    app.stop().await;
}

#[tokio::test]
async fn a_long_history_pages_through_every_event() {
    let app = TestApp::spawn().await;
    let machine = create_machine(
        &app,
        "many",
        r#"{"StartAt": "Each", "States": {"Each": {"Type": "Map", "End": true,
            "ItemProcessor": {"StartAt": "Item", "States": {"Item": {"Type": "Pass", "End": true}}}}}}"#,
    )
    .await;
    let items: Vec<u32> = (0..500).collect();
    let started = app
        .client
        .start_execution()
        .state_machine_arn(&machine)
        .input(serde_json::to_string(&items).expect("json"))
        .send()
        .await
        .expect("start");
    assert_eq!(
        wait_for_end(&app, started.execution_arn()).await,
        "SUCCEEDED"
    );
    let total = app
        .client
        .get_execution_history()
        .execution_arn(started.execution_arn())
        .max_results(1000)
        .send()
        .await
        .expect("history")
        .events()
        .len();
    assert!(total >= 1000, "{total}");

    let browser = Browser::start().await;
    let page = &browser.client;
    page.goto(&execution_page(&app, started.execution_arn()))
        .await
        .expect("the execution's page");
    let mut seen: Vec<i64> = Vec::new();
    loop {
        for row in page
            .find_all(Locator::Css("#event-table tr[data-id]"))
            .await
            .expect("rows")
        {
            let id = row.attr("data-id").await.expect("attr").unwrap_or_default();
            seen.push(id.parse().expect("an id"));
        }
        match page.find(Locator::Id("more-events")).await {
            Ok(next) => next.click().await.expect("next page"),
            Err(_) => break,
        }
    }
    let events = app
        .client
        .get_execution_history()
        .execution_arn(started.execution_arn())
        .reverse_order(true)
        .max_results(1)
        .send()
        .await
        .expect("last event");
    let last = events.events()[0].id();
    assert!(last > 2000, "{last} events");
    assert_eq!(seen, (1..=last).collect::<Vec<_>>());
    // And back one page.
    page.find(Locator::Id("newer-events"))
        .await
        .expect("a previous page")
        .click()
        .await
        .expect("previous");
    let first = page
        .find(Locator::Css("#event-table tr[data-id]"))
        .await
        .expect("a row")
        .attr("data-id")
        .await
        .expect("attr")
        .unwrap_or_default();
    // The last page began at the last multiple of 100 plus one; the one before it, 100 earlier.
    let last_page_first = (last - 1) / 100 * 100 + 1;
    assert_eq!(first, (last_page_first - 100).to_string());
    browser.close().await;
    app.stop().await;
}

const CREDENTIALS: &str = r#"
[[credentials]]
access_key_id = "AKIDALICE"
secret_access_key = "alice-secret"
account_id = "111111111111"

[[credentials]]
access_key_id = "AKIDREADER"
secret_access_key = "reader-secret"
account_id = "111111111111"
read_only = true

[[credentials]]
access_key_id = "AKIDBOB"
secret_access_key = "bob-secret"
account_id = "222222222222"
"#;

/// With a credentials file the console asks for a key, shows only that key's account, and
/// acts only on forms it issued.
#[tokio::test]
async fn the_console_needs_a_key_and_its_own_forms() {
    let dir = std::env::temp_dir().join(format!("switchback-console-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("credentials.toml");
    std::fs::write(&file, CREDENTIALS).expect("write credentials");
    let url = switchback_tests::pg::fresh_database().await;
    let app = TestApp::spawn_with(&url, move |settings| {
        settings.auth.credentials_file = Some(file);
    })
    .await;
    let alice =
        switchback_tests::app::client_as(app.address, "us-east-1", "AKIDALICE", "alice-secret");
    let machine = alice
        .create_state_machine()
        .name("alices")
        .definition(r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}"#)
        .role_arn("arn:aws:iam::111111111111:role/r")
        .send()
        .await
        .expect("create")
        .state_machine_arn()
        .to_owned();

    // Without a session every page sends the browser to the login.
    let anonymous = raw::get(app.address, "/console/").await;
    assert_eq!(anonymous.status, 303);
    assert_eq!(anonymous.header("location"), Some("/console/login"));

    let browser = Browser::start().await;
    let page = &browser.client;
    page.goto(&format!("{}/console/", app.endpoint()))
        .await
        .expect("the console");
    let login = |key: &'static str, secret: &'static str| async move {
        let form = page
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Id("login-form"))
            .await
            .expect("a login form");
        for (name, value) in [("access_key_id", key), ("secret_access_key", secret)] {
            form.find(Locator::Css(&format!("input[name={name}]")))
                .await
                .expect("field")
                .send_keys(value)
                .await
                .expect("type");
        }
        form.find(Locator::Css("button[type=submit]"))
            .await
            .expect("button")
            .click()
            .await
            .expect("log in");
    };
    login("AKIDALICE", "wrong").await;
    let refused = page
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("login-error"))
        .await
        .expect("refused")
        .text()
        .await
        .expect("text");
    assert_eq!(refused, "Unknown access key id, or a wrong secret.");
    login("AKIDALICE", "alice-secret").await;
    page.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::LinkText("alices"))
        .await
        .expect("alice's machine is listed");

    // A form from elsewhere (no token, or another site's origin) does nothing.
    let cookies = page.get_all_cookies().await.expect("cookies");
    let session = cookies
        .iter()
        .find(|c| c.name() == "switchback_session")
        .expect("a session cookie");
    let cookie = format!("switchback_session={}", session.value());
    let body = format!("csrf=forged&arn={machine}&input=%7B%7D");
    let forged = raw::post_form(
        app.address,
        "/console/actions/start",
        &[("Cookie", &cookie)],
        &body,
    )
    .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    let listed = alice
        .list_executions()
        .state_machine_arn(&machine)
        .send()
        .await
        .expect("list");
    assert!(
        listed.executions().is_empty(),
        "a forged form started an execution"
    );

    // Nothing of another account reaches Alice's pages, whatever the URL names.
    let bob = switchback_tests::app::client_as(app.address, "us-east-1", "AKIDBOB", "bob-secret");
    let bobs = bob
        .create_state_machine()
        .name("bobs")
        .definition(
            r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": true}}}"#,
        )
        .role_arn("arn:aws:iam::222222222222:role/r")
        .send()
        .await
        .expect("bob's machine")
        .state_machine_arn()
        .to_owned();
    let bobs_execution = bob
        .start_execution()
        .state_machine_arn(&bobs)
        .name("bobs-secret-run")
        .send()
        .await
        .expect("bob's execution")
        .execution_arn()
        .to_owned();
    let as_alice = [("Cookie", cookie.as_str())];
    for path in [
        format!("/console/state-machine?arn={bobs}"),
        format!("/console/execution?arn={bobs_execution}"),
    ] {
        let page = raw::get_with(app.address, &path, &as_alice).await;
        assert_eq!(page.status, 404, "{path}");
        // The page says only that what was asked for does not exist (naming it).
        assert!(!page.body.contains("data-state"), "{path}");
    }
    for path in [
        format!("/console/executions?machine={bobs}"),
        "/console/executions".to_owned(),
        "/console/executions?name=bobs".to_owned(),
        "/console/".to_owned(),
    ] {
        let page = raw::get_with(app.address, &path, &as_alice).await;
        assert_eq!(page.status, 200, "{path}");
        // The filter is echoed back; no row of Bob's is listed.
        assert!(
            !page.body.contains("bobs-secret-run") && !page.body.contains(">bobs</a></td>"),
            "{path} shows Bob's: {}",
            page.body
        );
    }

    // A read-only key sees the machine but no start form.
    page.find(Locator::Css("form[action='/console/logout'] button"))
        .await
        .expect("log out")
        .click()
        .await
        .expect("log out");
    page.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("login-form"))
        .await
        .expect("logged out");
    login("AKIDREADER", "reader-secret").await;
    page.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::LinkText("alices"))
        .await
        .expect("listed")
        .click()
        .await
        .expect("open");
    page.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("pre.json"))
        .await
        .expect("the machine's page");
    assert!(page.find(Locator::Id("start-form")).await.is_err());
    browser.close().await;
    app.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn one_map_iteration_is_shown_by_its_index() {
    let app = TestApp::spawn().await;
    let machine = create_machine(
        &app,
        "iterations",
        r#"{"StartAt": "Each", "States": {"Each": {"Type": "Map", "End": true,
            "ItemProcessor": {"StartAt": "Two?", "States": {
                "Two?": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericEquals": 2, "Next": "Bad"}], "Default": "Fine"},
                "Fine": {"Type": "Pass", "End": true},
                "Bad": {"Type": "Fail", "Error": "Two"}}}}}}"#,
    )
    .await;
    let started = app
        .client
        .start_execution()
        .state_machine_arn(&machine)
        .input("[0, 1, 2, 3]")
        .send()
        .await
        .expect("start");
    assert_eq!(wait_for_end(&app, started.execution_arn()).await, "FAILED");

    let browser = Browser::start().await;
    let page = &browser.client;
    page.goto(&execution_page(&app, started.execution_arn()))
        .await
        .expect("the execution's page");
    // All iterations together: one failed, so the state shows failed.
    assert_eq!(
        state_status(&browser, "Bad").await.as_deref(),
        Some("failed")
    );
    assert_eq!(
        state_status(&browser, "Fine").await.as_deref(),
        Some("succeeded")
    );
    for (index, bad, fine) in [
        ("2", "failed", "not-reached"),
        ("0", "not-reached", "succeeded"),
    ] {
        let form = page
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Id("iteration-form"))
            .await
            .expect("an iteration form");
        let field = form
            .find(Locator::Css("input[name=iteration]"))
            .await
            .expect("field");
        field.clear().await.expect("clear");
        field.send_keys(index).await.expect("type");
        form.find(Locator::Css("button[type=submit]"))
            .await
            .expect("button")
            .click()
            .await
            .expect("show");
        let expected = format!("Showing iteration {index} of Each.");
        browser
            .until(Duration::from_secs(10), "the iteration's page", || async {
                match page.find(Locator::Id("showing-iteration")).await {
                    Ok(shown) => shown.text().await.is_ok_and(|text| text == expected),
                    Err(_) => false,
                }
            })
            .await;
        assert_eq!(
            state_status(&browser, "Bad").await.as_deref(),
            Some(bad),
            "iteration {index}"
        );
        assert_eq!(
            state_status(&browser, "Fine").await.as_deref(),
            Some(fine),
            "iteration {index}"
        );
    }
    // The Map state folds into one box and unfolds again.
    page.find(Locator::Css("a.fold[data-fold='Each']"))
        .await
        .expect("a fold link")
        .click()
        .await
        .expect("fold");
    browser
        .until(Duration::from_secs(10), "the Map folded", || async {
            state_status(&browser, "Bad").await.is_none()
        })
        .await;
    assert_eq!(
        state_status(&browser, "Each").await.as_deref(),
        Some("failed")
    );
    page.find(Locator::Css("a.fold[data-fold='Each']"))
        .await
        .expect("an unfold link")
        .click()
        .await
        .expect("unfold");
    browser
        .until(Duration::from_secs(10), "the Map unfolded", || async {
            state_status(&browser, "Bad").await.is_some()
        })
        .await;
    browser.close().await;
    app.stop().await;
}

#[tokio::test]
async fn the_console_can_be_turned_off() {
    let url = switchback_tests::pg::fresh_database().await;
    let app = TestApp::spawn_with(&url, |settings| settings.console.enabled = false).await;
    assert_eq!(raw::get(app.address, "/console/").await.status, 404);
    // The API is still served.
    app.client.list_activities().send().await.expect("the API");
    app.stop().await;
}

#[tokio::test]
async fn an_execution_is_stopped_and_redriven_from_its_page() {
    let app = TestApp::spawn().await;
    let machine = create_machine(
        &app,
        "long-wait",
        r#"{"StartAt": "Hold", "States": {"Hold": {"Type": "Wait", "Seconds": 600, "End": true}}}"#,
    )
    .await;
    let started = app
        .client
        .start_execution()
        .state_machine_arn(&machine)
        .name("held")
        .send()
        .await
        .expect("start");
    let arn = started.execution_arn().to_owned();
    let browser = Browser::start().await;
    let page = &browser.client;
    page.goto(&execution_page(&app, &arn))
        .await
        .expect("the execution's page");
    browser
        .until(Duration::from_secs(10), "the wait to run", || async {
            if state_status(&browser, "Hold").await.as_deref() == Some("running") {
                return true;
            }
            let _ = page.refresh().await;
            false
        })
        .await;
    page.find(Locator::Css("#stop-form button"))
        .await
        .expect("a stop button")
        .click()
        .await
        .expect("stop");
    browser
        .until(Duration::from_secs(10), "the stopped page", || async {
            state_status(&browser, "Hold").await.as_deref() == Some("aborted")
        })
        .await;
    let described = app
        .client
        .describe_execution()
        .execution_arn(&arn)
        .send()
        .await
        .expect("describe");
    assert_eq!(described.status().as_str(), "ABORTED");

    page.find(Locator::Css("#redrive-form button"))
        .await
        .expect("a redrive button")
        .click()
        .await
        .expect("redrive");
    browser
        .until(Duration::from_secs(10), "the redriven page", || async {
            state_status(&browser, "Hold").await.as_deref() == Some("running")
        })
        .await;
    let described = app
        .client
        .describe_execution()
        .execution_arn(&arn)
        .send()
        .await
        .expect("describe");
    assert_eq!(described.status().as_str(), "RUNNING");
    assert_eq!(described.redrive_count(), Some(1));
    browser.close().await;
    app.stop().await;
}

/// A state name of escapes (control characters are written as `\u0001`) is still read from
/// the history: the outline of such an event is read further.
#[tokio::test]
async fn a_state_named_with_control_characters_is_coloured() {
    let app = TestApp::spawn().await;
    let name = "\u{1}".repeat(79) + "x";
    let definition = serde_json::json!({"StartAt": name, "States": {name.clone(): {"Type": "Pass", "End": true}}});
    let machine = create_machine(&app, "escapes", &definition.to_string()).await;
    let started = app
        .client
        .start_execution()
        .state_machine_arn(&machine)
        .send()
        .await
        .expect("start");
    assert_eq!(
        wait_for_end(&app, started.execution_arn()).await,
        "SUCCEEDED"
    );
    let page = raw::get(
        app.address,
        &format!("/console/execution?arn={}", started.execution_arn()),
    )
    .await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.body.matches(r#"data-status="succeeded""#).count(),
        1,
        "{}",
        page.body
    );
    app.stop().await;
}

/// A Distributed Map's run has a page of its own, reached from its parent's page: where its
/// items and children stand, and its children, each linking to its execution page.
#[tokio::test]
async fn a_map_run_is_shown_from_its_parents_page() {
    let app = TestApp::spawn().await;
    let machine = create_machine(
        &app,
        "fans",
        r#"{"StartAt": "Fan", "States": {"Fan": {"Type": "Map", "Label": "Each",
            "ToleratedFailureCount": 1,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Check", "States": {
                    "Check": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericEquals": 2, "Next": "Boom"}], "Default": "Fine"},
                    "Boom": {"Type": "Fail", "Error": "Two"},
                    "Fine": {"Type": "Succeed"}}},
            "End": true}}}"#,
    )
    .await;
    let started = app
        .client
        .start_execution()
        .state_machine_arn(&machine)
        .input("[1, 2, 3]")
        .send()
        .await
        .expect("start");
    assert_eq!(
        wait_for_end(&app, started.execution_arn()).await,
        "SUCCEEDED"
    );

    let browser = Browser::start().await;
    let page = &browser.client;
    page.goto(&execution_page(&app, started.execution_arn()))
        .await
        .expect("the execution's page");
    page.find(Locator::Css("#map-runs a"))
        .await
        .expect("a link to the run")
        .click()
        .await
        .expect("the run's page");
    let text = |css: &'static str| async move {
        page.find(Locator::Css(css))
            .await
            .expect("shown")
            .text()
            .await
            .expect("text")
    };
    let counts = text("#map-run-counts").await;
    // Items, then child executions, one each here.
    assert!(counts.contains("Succeeded 2 2"), "{counts}");
    assert!(counts.contains("Failed 1 1"), "{counts}");
    assert!(counts.contains("Total 3 3"), "{counts}");
    assert!(text("h1").await.contains("SUCCEEDED"));
    let children = page
        .find_all(Locator::Css("#map-run-children tbody tr"))
        .await
        .expect("children");
    assert_eq!(children.len(), 3);
    // The failed child (item 1) leads to its own execution's page.
    let failed = page
        .find(Locator::Css("#map-run-children tr[data-status='FAILED'] a"))
        .await
        .expect("the failed child");
    failed.click().await.expect("the child's page");
    assert_eq!(text("#error").await, "Two");
    browser.close().await;
    app.stop().await;
}
