//! The history panel's calls to tandem-server: each runs on a thread of its own with a small
//! async runtime ([`off_thread`], which the authorship colouring uses too), so the UI loop
//! never waits for the network, and its answer comes back on the app's channel as an
//! [`AppEvent::History`]. Calls are few (one per key the user presses in the panel, one per
//! settled edit for the colouring), so a thread each costs nothing worth pooling.

use std::sync::mpsc::Sender;

use crate::app::{AppEvent, BufferId};
use crate::collab::{HistoryClient, HistoryError, VersionInfo};

/// A request to the server's history API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// List the versions.
    List,
    /// Read a version's text.
    Text(i64),
    /// Restore a version.
    Restore(i64),
    /// Record the current text as a version with this name.
    Name(String),
}

/// The server's answer to a [`Call`].
#[derive(Debug)]
pub enum Reply {
    /// To [`Call::List`].
    Listed(Result<Vec<VersionInfo>, HistoryError>),
    /// To [`Call::Text`].
    Text(i64, Result<String, HistoryError>),
    /// To [`Call::Restore`]: the version the restore made.
    Restored(Result<VersionInfo, HistoryError>),
    /// To [`Call::Name`]: the named version.
    Named(Result<VersionInfo, HistoryError>),
}

/// Makes `call` with `client` in the background; the reply goes to `events` for `buffer`.
pub fn spawn(client: HistoryClient, call: Call, buffer: BufferId, events: Sender<AppEvent>) {
    off_thread(events, async move { AppEvent::History(buffer, answer(&client, call).await) });
}

/// Runs `request` (a call to tandem-server's REST API) on a thread of its own and sends the
/// event it makes to `events`: the history panel's calls and the authorship colouring's.
pub(in crate::app) fn off_thread(
    events: Sender<AppEvent>,
    request: impl Future<Output = AppEvent> + Send + 'static,
) {
    let spawned = std::thread::Builder::new().name("tandem-rest".into()).spawn(move || {
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(runtime) => runtime,
            Err(e) => return tracing::error!(error = %e, "starting a runtime for a REST call"),
        };
        let event = runtime.block_on(request);
        // The UI loop is gone when this fails: nobody left to tell.
        let _ = events.send(event);
    });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "starting a REST call");
    }
}

async fn answer(client: &HistoryClient, call: Call) -> Reply {
    match call {
        Call::List => Reply::Listed(client.list().await),
        Call::Text(id) => Reply::Text(id, client.text(id).await),
        Call::Restore(id) => Reply::Restored(client.restore(id).await),
        Call::Name(name) => Reply::Named(client.name_current(&name).await),
    }
}
