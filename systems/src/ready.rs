//! Readiness is a condition, never a sleep: poll it with exponential
//! backoff and a deadline, and record how long start-up took.

use crate::db::{Db, Topology};
pub use results::Startup;
use std::time::{Duration, Instant};

/// Polls until every node and then the cluster is ready, or `deadline`
/// passes. Backoff starts at 50 ms and doubles up to 1 s. `started` is when
/// the SUT was started (times are measured from it).
pub async fn wait_ready(db: &dyn Db, http: &reqwest::Client, topo: &Topology, started: Instant, deadline: Duration) -> Startup {
    let give_up = started + deadline;
    let nodes = topo.nodes.iter().map(|(name, addr)| async move {
        let mut wait = Duration::from_millis(50);
        loop {
            match db.node_ready(http, addr).await {
                Ok(()) => return (name.clone(), Ok(started.elapsed().as_secs_f64())),
                Err(e) if Instant::now() + wait >= give_up => return (name.clone(), Err(e.to_string())),
                Err(_) => {
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(1));
                }
            }
        }
    });
    let results = futures_join_all(nodes).await;
    let mut s = Startup { nodes: Vec::new(), cluster: None, not_ready: Vec::new() };
    for (name, r) in results {
        match r {
            Ok(t) => s.nodes.push((name, Some(t))),
            Err(e) => {
                s.nodes.push((name.clone(), None));
                s.not_ready.push((name, e));
            }
        }
    }
    if !s.not_ready.is_empty() {
        return s;
    }
    let mut wait = Duration::from_millis(50);
    loop {
        match db.cluster_ready(http, topo).await {
            Ok(()) => {
                s.cluster = Some(started.elapsed().as_secs_f64());
                return s;
            }
            Err(e) if Instant::now() + wait >= give_up => {
                s.not_ready.push(("cluster".into(), e.to_string()));
                return s;
            }
            Err(_) => {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(1));
            }
        }
    }
}

/// Runs futures concurrently on the current task and collects their outputs
/// in order (a small join_all, to avoid a dependency for one function).
pub async fn futures_join_all<F: std::future::Future>(fs: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let handles: Vec<_> = fs.into_iter().map(|f| Box::pin(f)).collect();
    let mut outs: Vec<Option<F::Output>> = handles.iter().map(|_| None).collect();
    let mut handles: Vec<Option<std::pin::Pin<Box<F>>>> = handles.into_iter().map(Some).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, h) in handles.iter_mut().enumerate() {
            if let Some(f) = h {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        outs[i] = Some(v);
                        *h = None;
                    }
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outs.into_iter().map(|o| o.expect("every future completed")).collect()
}
