//! The processes under test: API and scheduler processes of the real binary on a PostgreSQL of
//! the suite's own, the loopback services their Task states call, and clients that go to
//! whichever API node answers.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_sfn::Client;
use aws_sdk_sfn::error::SdkError;

use crate::pg::OwnCluster;
use crate::processes::Node;
use crate::services::{self, TestServer};

/// How long a scheduler holds a call before another may make it again: short, so that a
/// paused scheduler loses its calls within a fault.
pub const CALL_LEASE: Duration = Duration::from_secs(2);

/// The connection HTTP Tasks name; every scheduler is configured with it.
pub const CONNECTION: &str = "arn:aws:events:us-east-1:123456789012:connection/chaos/1";

// Fields drop in order: the processes go before their PostgreSQL does.
pub struct Fleet {
    pub apis: Vec<Node>,
    /// Scheduler `k` calls Lambda at `lambdas[k]`, so each call is known by who made it.
    pub schedulers: Vec<Node>,
    pub lambdas: Vec<TestServer>,
    pub http: TestServer,
    pub api: Api,
    pub pg: OwnCluster,
}

impl Fleet {
    pub async fn start(apis: usize, schedulers: usize) -> Fleet {
        let pg = OwnCluster::start("chaos").await;
        let url = pg.url();
        let http = services::http().await;
        let mut lambdas = Vec::new();
        for _ in 0..schedulers {
            lambdas.push(services::lambda().await);
        }
        // Each process names its connections, so a fault can find the scheduler that is inside
        // a transaction in `pg_stat_activity`.
        let named = |name: &str| format!("{url}?application_name={name}");
        let apis: Vec<Node> = (0..apis)
            .map(|k| Node::start("api", &named(&format!("api-{k}"))))
            .collect();
        let lease = CALL_LEASE.as_secs().to_string();
        let schedulers = lambdas
            .iter()
            .enumerate()
            .map(|(k, lambda)| {
                let endpoint = lambda.endpoint();
                Node::start_with(
                    "scheduler",
                    &named(&format!("scheduler-{k}")),
                    &[
                        ("SWITCHBACK__INTEGRATIONS__LAMBDA__ENDPOINT", &endpoint),
                        ("SWITCHBACK__SCHEDULER__CALL_LEASE_SECONDS", &lease),
                        (
                            "SWITCHBACK__INTEGRATIONS__HTTP__ALLOW_PRIVATE_DESTINATIONS",
                            "true",
                        ),
                        (
                            "SWITCHBACK__INTEGRATIONS__CONNECTIONS__CHAOS__ARN",
                            CONNECTION,
                        ),
                        (
                            "SWITCHBACK__INTEGRATIONS__CONNECTIONS__CHAOS__AUTHORIZATION_TYPE",
                            "API_KEY",
                        ),
                        (
                            "SWITCHBACK__INTEGRATIONS__CONNECTIONS__CHAOS__API_KEY__NAME",
                            "x-chaos-key",
                        ),
                        (
                            "SWITCHBACK__INTEGRATIONS__CONNECTIONS__CHAOS__API_KEY__VALUE",
                            "k",
                        ),
                        (
                            "SWITCHBACK__INTEGRATIONS__CONNECTIONS__CHAOS__ALLOWED_ENDPOINTS",
                            "*",
                        ),
                    ],
                )
            })
            .collect();
        for node in &apis {
            node.wait_ready().await;
        }
        let clients = apis
            .iter()
            .map(|n| crate::app::client(n.address.expect("api address"), "us-east-1"))
            .collect::<Vec<_>>();
        let api = Api {
            in_flight: Arc::new((0..clients.len()).map(|_| AtomicUsize::new(0)).collect()),
            clients,
        };
        Fleet {
            pg,
            apis,
            schedulers,
            lambdas,
            http,
            api,
        }
    }

    /// A connection of the suite's own to the database, for faults that look at or act on
    /// PostgreSQL's sessions.
    pub async fn admin(&self) -> Option<sqlx::PgConnection> {
        use sqlx::Connection;
        sqlx::PgConnection::connect(&self.pg.url()).await.ok()
    }

    /// Brings every process back up (a fault may have left one paused, killed, or exited
    /// because it started while PostgreSQL was away).
    pub async fn heal(&mut self) {
        for node in self.schedulers.iter_mut().chain(self.apis.iter_mut()) {
            if node.is_up() {
                node.resume();
            } else {
                node.restart();
            }
        }
        for node in &self.apis {
            node.wait_ready().await;
        }
    }
}

/// Clients of every API node; a call goes to the first node that answers.
#[derive(Clone)]
pub struct Api {
    clients: Vec<Client>,
    /// Requests in flight per node: evidence that killing a node cut work in flight.
    in_flight: Arc<Vec<AtomicUsize>>,
}

/// What [`Api::call`] learnt.
pub struct Answer<T, E> {
    pub result: Result<T, SdkError<E>>,
    /// An earlier try failed after the request may have reached a server (a cut connection,
    /// a server error), so the operation may already have taken effect.
    pub may_have_landed: bool,
}

impl Api {
    pub fn nodes(&self) -> usize {
        self.clients.len()
    }

    pub fn in_flight(&self, node: usize) -> usize {
        self.in_flight[node].load(Ordering::Relaxed)
    }

    /// Calls `op` on node `start`, then on the others in turn, for up to a minute, while the
    /// answer says the node is down or the database is away (no connection, a cut response,
    /// a 5xx). Any other answer, success or a 4xx error, is returned.
    pub async fn call<T, E, F, Fut>(&self, start: usize, op: F) -> Answer<T, E>
    where
        F: Fn(Client) -> Fut,
        Fut: Future<Output = Result<T, SdkError<E>>>,
    {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut may_have_landed = false;
        let mut attempt = 0;
        loop {
            let node = (start + attempt) % self.clients.len();
            self.in_flight[node].fetch_add(1, Ordering::Relaxed);
            let result = op(self.clients[node].clone()).await;
            self.in_flight[node].fetch_sub(1, Ordering::Relaxed);
            // A connection cut mid-request looks like a refused one to the client, so every
            // failed try counts as one that may have reached a server.
            let transient = match &result {
                Err(
                    SdkError::DispatchFailure(_)
                    | SdkError::ResponseError(_)
                    | SdkError::TimeoutError(_),
                ) => true,
                Err(SdkError::ServiceError(service)) => service.raw().status().as_u16() >= 500,
                _ => false,
            };
            may_have_landed |= transient;
            if !transient || Instant::now() > deadline {
                return Answer {
                    result,
                    may_have_landed,
                };
            }
            attempt += 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// As [`Api::call`], for operations that must succeed.
    pub async fn must<T, E, F, Fut>(&self, start: usize, what: &str, op: F) -> T
    where
        F: Fn(Client) -> Fut,
        Fut: Future<Output = Result<T, SdkError<E>>>,
        E: std::fmt::Debug,
    {
        match self.call(start, op).await.result {
            Ok(value) => value,
            Err(error) => panic!("{what} failed: {error:?}"),
        }
    }
}
