//! The one watch loop over the live cluster: a `kube::runtime` watcher of one kind, its
//! events turned into JSON and sent on a channel, failures sent with their HTTP status and
//! followed by a growing pause. Used by the controller (reports kept current) and by
//! `observe --cluster` (live attribution); each consumer decides what a status means to it.

use futures::StreamExt;
use kube::runtime::watcher::{self, Event};
use serde_json::Value;
use std::time::Duration;
use tokio::sync::mpsc;

/// The first pause after a failed list or watch; it doubles up to [`RETRY_MAX`] and is reset
/// by the next complete (re)list.
pub const RETRY_FIRST: Duration = Duration::from_millis(100);
pub const RETRY_MAX: Duration = Duration::from_secs(60);

/// A watch event as JSON, tagged by the caller's index of the kind.
#[derive(Debug)]
pub enum WatchEvent {
    Apply(Value),
    Delete(Value),
    /// A (re)list starts: the objects that follow replace the kind's objects at `InitDone`.
    Init,
    InitApply(Value),
    InitDone,
    /// A failed list or watch: the HTTP status (0 when there was no answer) and the message.
    Error(u16, String),
}

/// The HTTP status of a watcher error (0 when the server did not answer).
pub fn watch_status(e: &watcher::Error) -> u16 {
    let api = |e: &kube::Error| match e {
        kube::Error::Api(s) => s.code,
        _ => 0,
    };
    match e {
        watcher::Error::InitialListFailed(e)
        | watcher::Error::WatchStartFailed(e)
        | watcher::Error::WatchFailed(e) => api(e),
        watcher::Error::WatchError(s) => s.code,
        watcher::Error::NoResourceVersion => 0,
    }
}

/// Sends the events of `stream` (a `watcher::watcher`) as [`WatchEvent`]s tagged `idx` until
/// the receiver is gone, the stream ends, or the kind is not served (404, sent first). After
/// an error it pauses before letting the watcher relist.
pub async fn pump<K, S>(
    stream: &mut S,
    to_json: impl Fn(K) -> Value,
    tx: &mpsc::Sender<(usize, WatchEvent)>,
    idx: usize,
) where
    S: futures::Stream<Item = Result<Event<K>, watcher::Error>> + Unpin,
{
    let mut delay = RETRY_FIRST;
    while let Some(item) = stream.next().await {
        let ev = match item {
            Ok(Event::Apply(o)) => WatchEvent::Apply(to_json(o)),
            Ok(Event::Delete(o)) => WatchEvent::Delete(to_json(o)),
            Ok(Event::Init) => WatchEvent::Init,
            Ok(Event::InitApply(o)) => WatchEvent::InitApply(to_json(o)),
            Ok(Event::InitDone) => {
                delay = RETRY_FIRST;
                WatchEvent::InitDone
            }
            Err(e) => {
                let code = watch_status(&e);
                if tx
                    .send((idx, WatchEvent::Error(code, e.to_string())))
                    .await
                    .is_err()
                    || code == 404
                {
                    return;
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(RETRY_MAX);
                continue;
            }
        };
        if tx.send((idx, ev)).await.is_err() {
            return;
        }
    }
}
