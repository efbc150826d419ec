//! `idle`: the server process's resident memory (VmRSS from /proc/PID/status), idle and under
//! the pass5 concurrent load. Only that process: PostgreSQL (which `switchback dev` starts
//! through `pg_ctl`, so it is not even a child) is measured apart.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use aws_sdk_sfn::Client;

use crate::report::Report;
use crate::{Args, sfn};

pub async fn run(client: &Client, args: &Args, report: &mut Report) -> anyhow::Result<()> {
    let pid = args
        .pid
        .ok_or_else(|| anyhow::anyhow!("the idle scenario needs --pid PID of the server"))?;
    let kib = |field: &str| status_kib(pid, field);
    kib("VmRSS").with_context(|| format!("reading /proc/{pid}/status"))?;

    // Idle: nothing of ours runs; the highest of a few samples over 5 s.
    let mut idle = 0;
    for _ in 0..5 {
        idle = idle.max(kib("VmRSS")?);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    report.value("idle: VmRSS idle", mib(idle), "MiB");

    let machine = sfn::create_machine(client, "idle", &super::pass_chain(5)).await?;
    let running = Arc::new(AtomicBool::new(true));
    let sampler = {
        let running = Arc::clone(&running);
        tokio::spawn(async move {
            let mut rss = 0;
            while running.load(Ordering::Relaxed) {
                rss = rss.max(status_kib(pid, "VmRSS").unwrap_or(0));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            rss
        })
    };
    let load = super::pass5::concurrent(
        client,
        &machine,
        args.clients_or(32),
        args.count_or(10_000),
        report,
    )
    .await;
    running.store(false, Ordering::Relaxed);
    let sampled = sampler.await;
    sfn::delete_machine(client, &machine).await;
    load?;
    let rss = sampled.context("memory sampler")?;
    report.value("idle: VmRSS max under pass5 load", mib(rss), "MiB");
    tokio::time::sleep(Duration::from_secs(5)).await;
    report.value("idle: VmRSS 5 s after the load", mib(kib("VmRSS")?), "MiB");
    report.value("idle: VmHWM (peak since start)", mib(kib("VmHWM")?), "MiB");
    Ok(())
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// A `kB` field of /proc/PID/status.
pub(crate) fn status_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    kib_field(&status, field).ok_or_else(|| anyhow::anyhow!("no {field} in /proc/{pid}/status"))
}

fn kib_field(text: &str, field: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_kib_fields() {
        let status = "Name:\tswitchback\nVmHWM:\t  40000 kB\nVmRSS:\t   21400 kB\n";
        assert_eq!(super::kib_field(status, "VmRSS"), Some(21400));
        assert_eq!(super::kib_field(status, "VmHWM"), Some(40000));
        assert_eq!(super::kib_field(status, "VmSwap"), None);
    }
}
