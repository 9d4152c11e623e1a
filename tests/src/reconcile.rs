//! Talking to the reconciler over the control socket: queue a run and wait for it, list
//! runs and mismatches (page by page), compare mismatches as plain rows.

use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;

use plumb_common::protocol::{
    Mismatch, MismatchQuery, ParityDimension, ParityRun, ParityRunQuery, Request, Response,
    RunState,
};

use plumb_agent::erp::tryton::TrytonSettings;

use crate::agent::{Agent, Control};
use crate::inventory::agent_toml;
use crate::sandbox::{Sandbox, SandboxConfig};

/// The pending and in-flight jobs of `flow` (at most 100).
pub async fn live_jobs(
    control: &mut Control,
    flow: plumb_common::FlowKind,
) -> Vec<plumb_common::protocol::JobSummary> {
    let query = plumb_common::protocol::JobQuery {
        flow: Some(flow),
        limit: 100,
        ..Default::default()
    };
    match ask(control, Request::ListJobs(query)).await {
        Response::Jobs(page) => page.items,
        other => panic!("unexpected answer: {other:?}"),
    }
}

/// Waits until `flow` has nothing pending or in flight (60 s at most). Unlike
/// [`Agent::wait_drained`], a disabled flow's waiting jobs do not hold it up.
pub async fn flow_idle(agent: &Agent, flow: plumb_common::FlowKind) {
    let socket = agent.socket();
    eventually(agent, &format!("the {flow} flow idle"), || {
        let socket = socket.clone();
        async move {
            let mut control = Control::connect(&socket, true).await.ok()?;
            let Ok(Response::Status(status)) = control.request(Request::Status).await else {
                return None;
            };
            let state = status.flow(flow)?;
            (state.pending + state.in_flight == 0).then_some(())
        }
    })
    .await;
}

/// A sandbox with the locations `names` (ids in the same order).
pub async fn shop(names: &[&str]) -> (Sandbox, Vec<u64>) {
    let sandbox = Sandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox");
    let admin = sandbox.admin();
    let ids = names.iter().map(|name| admin.add_location(name)).collect();
    (sandbox, ids)
}

/// The real `plumbd` between `sandbox` and the ERP at `erp`, with `extra` configuration, in
/// a directory of its own (kept as long as the returned handle).
pub fn start_agent(
    sandbox: &Sandbox,
    erp: &TrytonSettings,
    locations: &[(&str, u64)],
    extra: &str,
) -> (tempfile::TempDir, Agent) {
    let dir = tempfile::tempdir().expect("tempdir");
    let toml = agent_toml(dir.path(), sandbox, erp, locations, extra);
    let agent = Agent::start(dir.path(), &toml);
    (dir, agent)
}

/// Waits up to 60 s for `check` to give `Some`; panics with `what` and the agent's log.
pub async fn eventually<T, F, Fut>(agent: &Agent, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(found) = check().await {
            return found;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("timed out waiting for {what}\n{}", agent.stderr());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The answer to `request`; panics if the agent refused it.
pub async fn ask(control: &mut Control, request: Request) -> Response {
    match control.request(request.clone()).await {
        Ok(response) => response,
        Err(error) => panic!("{request:?} refused: {error}"),
    }
}

/// The newest 100 runs, newest first.
pub async fn runs(control: &mut Control) -> Vec<ParityRun> {
    match ask(
        control,
        Request::ListParityRuns(ParityRunQuery {
            before: None,
            limit: 100,
        }),
    )
    .await
    {
        Response::ParityRuns(page) => page.items,
        other => panic!("unexpected answer: {other:?}"),
    }
}

/// Every mismatch of `run` in `dimension`, read a page of 3 at a time (paging is part of
/// what is tested).
pub async fn mismatches(
    control: &mut Control,
    run: u64,
    dimension: ParityDimension,
) -> Vec<Mismatch> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = match ask(
            control,
            Request::ListMismatches(MismatchQuery {
                run: Some(run),
                dimension: Some(dimension),
                kind: None,
                after,
                limit: 3,
            }),
        )
        .await
        {
            Response::Mismatches(page) => page,
            other => panic!("unexpected answer: {other:?}"),
        };
        assert_eq!(page.run, Some(run));
        all.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return all,
        }
    }
}

/// Queues a run (or a repair) and waits for the newest run to finish; returns it.
pub async fn finished_run(agent: &Agent, control: &mut Control, request: Request) -> ParityRun {
    let before = runs(control).await.first().map_or(0, |r| r.id);
    match ask(control, request).await {
        Response::Queued { .. } => {}
        other => panic!("unexpected answer: {other:?}"),
    }
    let socket = agent.socket();
    eventually(agent, "a reconciliation run to finish", || {
        let socket = socket.clone();
        async move {
            let mut control = Control::connect(&socket, true).await.ok()?;
            let newest = runs(&mut control).await.into_iter().next()?;
            (newest.id > before && newest.state == RunState::Done).then_some(newest)
        }
    })
    .await
}

/// (kind, subject, location, erp, shopify) of each mismatch, sorted.
pub type Row = (String, String, Option<u64>, Option<String>, Option<String>);

/// Mismatches as comparable rows.
pub fn rows(found: &[Mismatch]) -> BTreeSet<Row> {
    found
        .iter()
        .map(|m| {
            (
                m.kind.clone(),
                m.subject.clone(),
                m.location,
                m.erp.clone(),
                m.shopify.clone(),
            )
        })
        .collect()
}

/// One expected row.
pub fn row(
    kind: &str,
    subject: &str,
    location: Option<u64>,
    erp: Option<&str>,
    shopify: Option<&str>,
) -> Row {
    (
        kind.to_owned(),
        subject.to_owned(),
        location,
        erp.map(str::to_owned),
        shopify.map(str::to_owned),
    )
}
