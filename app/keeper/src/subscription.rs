//! Positions of one market kept current by a websocket `programSubscribe` (filtered to the
//! market's Position accounts), so a pass need not scan the program's accounts. The stream is
//! trusted only once a getProgramAccounts snapshot was taken after it (re)connected: updates
//! that arrive between the subscription and the snapshot are kept if newer (by slot).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anchor_lang::prelude::Pubkey;
use futures::StreamExt;
use perps::state::Position;
use perps_client::accounts as decode;
use solana_pubsub_client::nonblocking::pubsub_client::PubsubClient;
use solana_rpc_client_api::config::RpcProgramAccountsConfig;
use tokio::task::JoinHandle;
use tracing::{info, warn};

/// Wait before reconnecting a dropped stream.
const RECONNECT_DELAY: Duration = Duration::from_millis(500);

#[derive(Default)]
struct State {
    /// Position → (slot of the data, the position); `None` once the account is closed.
    positions: HashMap<Pubkey, (u64, Option<Position>)>,
    /// The stream is subscribed.
    live: bool,
    /// No snapshot since the stream (re)connected: the cache may lack what came before.
    needs_snapshot: bool,
    /// Subscriptions made (1 at start, one more per reconnect).
    subscriptions: u64,
}

/// A market's positions as the stream reports them; the task ends when this is dropped.
pub struct PositionCache {
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

impl Drop for PositionCache {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl PositionCache {
    /// Subscribes at `ws_url` to `program_id`'s accounts that `config` selects, reconnecting
    /// whenever the stream ends.
    pub fn spawn(ws_url: String, program_id: Pubkey, config: RpcProgramAccountsConfig) -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            loop {
                match PubsubClient::new(ws_url.as_str()).await {
                    Ok(client) => match client
                        .program_subscribe(&program_id, Some(config.clone()))
                        .await
                    {
                        Ok((mut stream, _unsubscribe)) => {
                            {
                                let mut s = lock(&shared);
                                s.live = true;
                                s.needs_snapshot = true;
                                s.subscriptions += 1;
                            }
                            info!(%ws_url, "programSubscribe live");
                            while let Some(update) = stream.next().await {
                                let Ok(key) = update.value.pubkey.parse::<Pubkey>() else {
                                    continue;
                                };
                                let data = update.value.account.data.decode();
                                let position = data
                                    .as_deref()
                                    .and_then(|d| decode::position(d).ok())
                                    .filter(|_| update.value.account.lamports > 0);
                                lock(&shared).record(key, update.context.slot, position);
                            }
                            warn!(%ws_url, "programSubscribe stream ended: reconnecting");
                        }
                        Err(e) => warn!(%ws_url, error = %e, "programSubscribe refused"),
                    },
                    Err(e) => warn!(%ws_url, error = %e, "websocket unreachable"),
                }
                lock(&shared).live = false;
                tokio::time::sleep(RECONNECT_DELAY).await;
            }
        });
        Self { state, task }
    }

    /// The market's positions, when the stream is live and a snapshot followed its connection.
    pub fn positions(&self) -> Option<Vec<(Pubkey, Position)>> {
        let state = lock(&self.state);
        if !state.live || state.needs_snapshot {
            return None;
        }
        Some(
            state
                .positions
                .iter()
                .filter_map(|(k, (_, p))| p.map(|p| (*k, p)))
                .collect(),
        )
    }

    /// Whether the stream is live but wants a snapshot before it is trusted.
    pub fn needs_snapshot(&self) -> bool {
        let state = lock(&self.state);
        state.live && state.needs_snapshot
    }

    /// Takes in a getProgramAccounts `snapshot` read at `slot` or later: it replaces what the
    /// stream holds from before `slot`, accounts absent from it included.
    pub fn load_snapshot(&self, slot: u64, snapshot: &[(Pubkey, Position)]) {
        let mut state = lock(&self.state);
        state.positions.retain(|_, (seen, _)| *seen > slot);
        for (key, position) in snapshot {
            state.record(*key, slot, Some(*position));
        }
        state.needs_snapshot = false;
    }

    /// Subscriptions made so far (one more per reconnect).
    pub fn subscriptions(&self) -> u64 {
        lock(&self.state).subscriptions
    }
}

impl State {
    /// Keeps the newer of what is held and `position` at `slot`.
    fn record(&mut self, key: Pubkey, slot: u64, position: Option<Position>) {
        let newer = self
            .positions
            .get(&key)
            .is_none_or(|(seen, _)| *seen <= slot);
        if newer {
            self.positions.insert(key, (slot, position));
        }
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    // Every update is one short critical section: a panic cannot leave it half-written.
    state.lock().unwrap_or_else(|e| e.into_inner())
}
