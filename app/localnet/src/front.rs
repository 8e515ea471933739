//! A JSON-RPC front to the bank: an HTTP server speaking the Solana JSON-RPC methods
//! `RpcClient` calls, every answer read from (or every transaction run in) the same
//! solana-program-test bank that runs the real program. Nothing is canned: accounts, slots,
//! blockhashes, simulations (their logs and units consumed) and transaction statuses are the
//! bank's; the recent prioritization fees are those of the transactions this front processed.
//!
//! Two things a cluster has that a bank does not are modelled, and said so:
//! - Slots: each transaction sent is processed in the working bank, which is then warped one
//!   slot ahead (one block a transaction), so a lookup table extended by one transaction is
//!   usable by the next.
//! - getProgramAccounts: a bank cannot scan accounts; the front scans those it knows (the ones
//!   given at start and every account a transaction it processed wrote), filtered as asked.
//!
//! A websocket endpoint (`ws_url`) serves `programSubscribe`: after each transaction it
//! processed, every account the transaction wrote that the subscription's program owns and
//! filters select is sent as a `programNotification`, read from the bank.
// The bank crates mark their API "unstable" (a deprecation warning); it is the bank we test in.
#![allow(deprecated)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use anchor_lang::prelude::Pubkey;
use base64::{engine::general_purpose::STANDARD as BASE64, Engine};
use futures::{SinkExt, StreamExt};
use perps_testkit::*;
use serde_json::{json, Value};
use solana_address_lookup_table_interface::state::AddressLookupTable;
use solana_message::VersionedMessage;
use solana_program_test::ProgramTestContext;
use solana_transaction::versioned::VersionedTransaction;
use solana_transaction_error::TransactionError;
use solana_transaction_status_client_types::UiTransactionError;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message;

/// What the front remembers of the transactions it processed.
#[derive(Default)]
struct Ledger {
    /// Signature → (slot, result).
    statuses: HashMap<String, (u64, Result<(), TransactionError>)>,
    /// Slot → (compute-unit price, accounts written) of each transaction processed there.
    fees: BTreeMap<u64, Vec<(u64, Vec<Pubkey>)>>,
    /// Accounts getProgramAccounts scans.
    known: BTreeSet<Pubkey>,
    /// Method → calls, for tests to show what went over the wire.
    calls: BTreeMap<String, u64>,
}

/// A `programSubscribe` of a websocket connection.
struct Subscriber {
    id: u64,
    program: Pubkey,
    filters: Vec<Value>,
    sender: tokio::sync::mpsc::UnboundedSender<Message>,
}

/// The front: serve with [`JsonRpcBank::start`]; the test keeps the context for its checks.
#[derive(Clone)]
pub struct JsonRpcBank {
    pub ctx: Arc<Mutex<TestContext>>,
    ledger: Arc<Mutex<Ledger>>,
    subscribers: Arc<Mutex<Vec<Subscriber>>>,
    pub url: String,
    pub ws_url: String,
}

impl JsonRpcBank {
    /// Serves `ctx`'s bank on loopback ports the system picks; `known` seeds the accounts
    /// getProgramAccounts scans.
    pub async fn start(ctx: TestContext, known: impl IntoIterator<Item = Pubkey>) -> Self {
        Self::start_on(ctx, known, "127.0.0.1:0", "127.0.0.1:0")
            .await
            .expect("loopback ports")
    }

    /// `start` on the given addresses (JSON-RPC over HTTP, and the websocket).
    pub async fn start_on(
        ctx: TestContext,
        known: impl IntoIterator<Item = Pubkey>,
        rpc_address: &str,
        ws_address: &str,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(rpc_address).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let ws_listener = TcpListener::bind(ws_address).await?;
        let ws_url = format!("ws://{}", ws_listener.local_addr()?);
        let front = JsonRpcBank {
            subscribers: Arc::new(Mutex::new(Vec::new())),
            ws_url,
            ctx: Arc::new(Mutex::new(ctx)),
            ledger: Arc::new(Mutex::new(Ledger {
                known: known.into_iter().collect(),
                ..Ledger::default()
            })),
            url,
        };
        let serving = front.clone();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let front = serving.clone();
                tokio::spawn(async move { front.connection(stream).await });
            }
        });
        let serving = front.clone();
        tokio::spawn(async move {
            loop {
                let (stream, _) = ws_listener.accept().await.unwrap();
                let front = serving.clone();
                tokio::spawn(async move { front.ws_connection(stream).await });
            }
        });
        Ok(front)
    }

    /// Closes every websocket connection, as a restarting RPC node would.
    pub async fn drop_subscriptions(&self) {
        for subscriber in self.subscribers.lock().await.drain(..) {
            let _ = subscriber.sender.send(Message::Close(None));
        }
    }

    /// One websocket connection: `programSubscribe` / `programUnsubscribe` requests in,
    /// responses and notifications out.
    async fn ws_connection(&self, stream: TcpStream) {
        let Ok(ws) = tokio_tungstenite::accept_async(stream).await else {
            return;
        };
        let (mut sink, mut source) = ws.split();
        let (sender, mut outgoing) = tokio::sync::mpsc::unbounded_channel::<Message>();
        tokio::spawn(async move {
            while let Some(message) = outgoing.recv().await {
                let close = matches!(message, Message::Close(_));
                if sink.send(message).await.is_err() || close {
                    return;
                }
            }
        });
        let mut mine = Vec::new();
        while let Some(Ok(message)) = source.next().await {
            let Message::Text(text) = message else {
                continue;
            };
            let request: Value = serde_json::from_str(text.as_str()).unwrap_or(Value::Null);
            let id = request["id"].clone();
            *self
                .ledger
                .lock()
                .await
                .calls
                .entry(request["method"].as_str().unwrap_or("").to_string())
                .or_default() += 1;
            let result = match request["method"].as_str() {
                Some("programSubscribe") => {
                    let Some(program) = request["params"][0]
                        .as_str()
                        .and_then(|k| k.parse::<Pubkey>().ok())
                    else {
                        continue;
                    };
                    let mut subscribers = self.subscribers.lock().await;
                    let subscription = subscribers.iter().map(|s| s.id + 1).max().unwrap_or(1);
                    subscribers.push(Subscriber {
                        id: subscription,
                        program,
                        filters: request["params"][1]["filters"]
                            .as_array()
                            .cloned()
                            .unwrap_or_default(),
                        sender: sender.clone(),
                    });
                    mine.push(subscription);
                    json!(subscription)
                }
                Some("programUnsubscribe") => {
                    let subscription = request["params"][0].as_u64().unwrap_or(0);
                    self.subscribers
                        .lock()
                        .await
                        .retain(|s| s.id != subscription);
                    json!(true)
                }
                _ => continue,
            };
            let reply = json!({"jsonrpc": "2.0", "result": result, "id": id});
            let _ = sender.send(Message::Text(reply.to_string().into()));
        }
        self.subscribers
            .lock()
            .await
            .retain(|s| !mine.contains(&s.id));
    }

    /// Sends every subscriber the accounts among `written` it selects, as the bank holds them.
    async fn notify(
        &self,
        client: &solana_banks_client::BanksClient,
        slot: u64,
        written: &[Pubkey],
    ) {
        let subscribers = self.subscribers.lock().await;
        for key in written {
            let Ok(Some(account)) = client.get_account(*key).await else {
                continue;
            };
            for s in subscribers.iter().filter(|s| {
                s.program == account.owner
                    && s.filters.iter().all(|f| matches_filter(f, &account.data))
            }) {
                let notification = json!({
                    "jsonrpc": "2.0",
                    "method": "programNotification",
                    "params": {
                        "result": {
                            "context": {"slot": slot},
                            "value": {"pubkey": key.to_string(), "account": ui_account(&account)},
                        },
                        "subscription": s.id,
                    }
                });
                let _ = s
                    .sender
                    .send(Message::Text(notification.to_string().into()));
            }
        }
    }

    /// How many times each method was called.
    pub async fn calls(&self) -> BTreeMap<String, u64> {
        self.ledger.lock().await.calls.clone()
    }

    /// HTTP/1.1 with keep-alive: one JSON-RPC request (or batch) a POST.
    async fn connection(&self, mut stream: TcpStream) {
        let mut buffer = Vec::new();
        loop {
            let header_end = loop {
                if let Some(end) = find(&buffer, b"\r\n\r\n") {
                    break end;
                }
                let mut chunk = [0u8; 8192];
                match stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                }
            };
            let head = String::from_utf8_lossy(&buffer[..header_end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            let body_start = header_end + 4;
            while buffer.len() < body_start + length {
                let mut chunk = [0u8; 8192];
                match stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                }
            }
            let body: Vec<u8> = buffer[body_start..body_start + length].to_vec();
            buffer.drain(..body_start + length);
            let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let response = match request {
                Value::Array(batch) => {
                    let mut out = Vec::new();
                    for r in batch {
                        out.push(self.answer(r).await);
                    }
                    Value::Array(out)
                }
                single => self.answer(single).await,
            };
            let text = response.to_string();
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{text}",
                text.len()
            );
            if stream.write_all(reply.as_bytes()).await.is_err() {
                return;
            }
        }
    }

    async fn answer(&self, request: Value) -> Value {
        let id = request["id"].clone();
        let method = request["method"].as_str().unwrap_or("").to_string();
        let params = request["params"].clone();
        *self
            .ledger
            .lock()
            .await
            .calls
            .entry(method.clone())
            .or_default() += 1;
        match self.call(&method, &params).await {
            Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
            Err((code, message, data)) => json!({
                "jsonrpc": "2.0",
                "id": id,
                "error": {"code": code, "message": message, "data": data}
            }),
        }
    }

    async fn call(&self, method: &str, params: &Value) -> Result<Value, (i64, String, Value)> {
        let invalid = |what: &str| (-32602, format!("invalid params: {what}"), Value::Null);
        let key = |v: &Value| -> Result<Pubkey, (i64, String, Value)> {
            v.as_str()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| invalid("not a base58 public key"))
        };
        let mut ctx = self.ctx.lock().await;
        let bank: &mut ProgramTestContext = &mut ctx.bank;
        let client = bank.banks_client.clone();
        let internal = |e: &dyn std::fmt::Display| (-32603, e.to_string(), Value::Null);
        let slot = client.get_root_slot().await.map_err(|e| internal(&e))?;
        let context = json!({"slot": slot, "apiVersion": "3.1.12"});
        match method {
            "getVersion" => Ok(json!({"solana-core": "3.1.12", "feature-set": 0})),
            "getHealth" => Ok(json!("ok")),
            // The working bank is the tip (processed, confirmed); its frozen parent, the newest
            // slot in SlotHashes, stands for finalized.
            "getSlot" if params[0]["commitment"] == "finalized" => {
                Ok(json!(slot.saturating_sub(1)))
            }
            "getSlot" => Ok(json!(slot)),
            "getBlockHeight" => Ok(json!(client
                .get_root_block_height()
                .await
                .map_err(|e| internal(&e))?)),
            "getLatestBlockhash" => {
                let hash = client
                    .get_latest_blockhash()
                    .await
                    .map_err(|e| internal(&e))?;
                let height = client
                    .get_root_block_height()
                    .await
                    .map_err(|e| internal(&e))?;
                Ok(json!({"context": context, "value": {
                    "blockhash": hash.to_string(),
                    "lastValidBlockHeight": height + 150,
                }}))
            }
            "isBlockhashValid" => Ok(json!({"context": context, "value": true})),
            "getBalance" => {
                let lamports = client
                    .get_balance(key(&params[0])?)
                    .await
                    .map_err(|e| internal(&e))?;
                Ok(json!({"context": context, "value": lamports}))
            }
            "getMinimumBalanceForRentExemption" => {
                let size = params[0].as_u64().ok_or_else(|| invalid("size"))?;
                let rent = client.get_rent().await.map_err(|e| internal(&e))?;
                Ok(json!(rent.minimum_balance(size as usize)))
            }
            "getAccountInfo" => {
                let account = client
                    .get_account(key(&params[0])?)
                    .await
                    .map_err(|e| internal(&e))?;
                Ok(json!({"context": context, "value": account.map(|a| ui_account(&a))}))
            }
            "getMultipleAccounts" => {
                let mut out = Vec::new();
                for k in params[0].as_array().ok_or_else(|| invalid("keys"))? {
                    let account = client
                        .get_account(key(k)?)
                        .await
                        .map_err(|e| internal(&e))?;
                    out.push(account.map(|a| ui_account(&a)));
                }
                Ok(json!({"context": context, "value": out}))
            }
            "getProgramAccounts" => {
                let program = key(&params[0])?;
                let filters = params[1]["filters"].as_array().cloned().unwrap_or_default();
                let known: Vec<Pubkey> = self.ledger.lock().await.known.iter().copied().collect();
                let mut out = Vec::new();
                for k in known {
                    let Some(account) = client.get_account(k).await.map_err(|e| internal(&e))?
                    else {
                        continue;
                    };
                    if account.owner == program
                        && filters.iter().all(|f| matches_filter(f, &account.data))
                    {
                        out.push(json!({"pubkey": k.to_string(), "account": ui_account(&account)}));
                    }
                }
                Ok(if params[1]["withContext"].as_bool() == Some(true) {
                    json!({"context": context, "value": out})
                } else {
                    json!(out)
                })
            }
            "simulateTransaction" => {
                let tx = decode_transaction(&params[0]).map_err(|e| invalid(&e))?;
                let simulated = client
                    .simulate_transaction(tx)
                    .await
                    .map_err(|e| internal(&e))?;
                let details = simulated.simulation_details;
                Ok(json!({"context": context, "value": {
                    "err": simulated.result.and_then(|r| r.err()).map(UiTransactionError::from),
                    "logs": details.as_ref().map(|d| d.logs.clone()),
                    "accounts": null,
                    "unitsConsumed": details.as_ref().map(|d| d.units_consumed),
                    "returnData": null,
                }}))
            }
            "sendTransaction" => {
                let tx = decode_transaction(&params[0]).map_err(|e| invalid(&e))?;
                let signature = tx.signatures[0].to_string();
                let (price, written) = priced_writes(&client, &tx.message).await;
                let outcome = client
                    .process_transaction_with_metadata(tx)
                    .await
                    .map_err(|e| internal(&e))?;
                let mut ledger = self.ledger.lock().await;
                ledger.known.extend(written.iter().copied());
                let notified = written.clone();
                ledger.fees.entry(slot).or_default().push((price, written));
                ledger
                    .statuses
                    .insert(signature.clone(), (slot, outcome.result.clone()));
                drop(ledger);
                self.notify(&client, slot, &notified).await;
                // One block a transaction: the next one lands in the next slot.
                bank.warp_to_slot(slot + 1)
                    .map_err(|e| internal(&format!("{e:?}")))?;
                Ok(json!(signature))
            }
            "getSignatureStatuses" => {
                let ledger = self.ledger.lock().await;
                let statuses: Vec<Value> = params[0]
                    .as_array()
                    .ok_or_else(|| invalid("signatures"))?
                    .iter()
                    .map(|s| {
                        ledger.statuses.get(s.as_str().unwrap_or("")).map(|(slot, result)| {
                            let err = result.clone().err().map(UiTransactionError::from);
                            json!({
                                "slot": slot,
                                "confirmations": null,
                                "status": match &err { None => json!({"Ok": null}), Some(e) => json!({"Err": e}) },
                                "err": err,
                                "confirmationStatus": "finalized",
                            })
                        })
                    })
                    .map(|s| s.unwrap_or(Value::Null))
                    .collect();
                Ok(json!({"context": context, "value": statuses}))
            }
            "getRecentPrioritizationFees" => {
                let asked: Vec<Pubkey> = params[0]
                    .as_array()
                    .map(|a| a.iter().filter_map(|k| key(k).ok()).collect())
                    .unwrap_or_default();
                let ledger = self.ledger.lock().await;
                // Per slot, as agave does: the lowest price paid by a transaction writing each
                // account asked about, the highest of those (the block's lowest with none asked).
                let fees: Vec<Value> = ledger
                    .fees
                    .iter()
                    .map(|(slot, txs)| {
                        let lowest = |account: Option<&Pubkey>| {
                            txs.iter()
                                .filter(|(_, w)| account.is_none_or(|a| w.contains(a)))
                                .map(|(p, _)| *p)
                                .min()
                        };
                        let fee = if asked.is_empty() {
                            lowest(None).unwrap_or(0)
                        } else {
                            asked
                                .iter()
                                .filter_map(|a| lowest(Some(a)))
                                .max()
                                .unwrap_or(0)
                        };
                        json!({"slot": slot, "prioritizationFee": fee})
                    })
                    .collect();
                Ok(json!(fees))
            }
            other => Err((-32601, format!("Method not found: {other}"), Value::Null)),
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn ui_account(account: &solana_account::Account) -> Value {
    json!({
        "lamports": account.lamports,
        "data": [BASE64.encode(&account.data), "base64"],
        "owner": account.owner.to_string(),
        "executable": account.executable,
        "rentEpoch": account.rent_epoch,
        "space": account.data.len(),
    })
}

/// A `memcmp` (base58 or base64 bytes at an offset) or `dataSize` filter.
fn matches_filter(filter: &Value, data: &[u8]) -> bool {
    if let Some(size) = filter["dataSize"].as_u64() {
        return data.len() as u64 == size;
    }
    let memcmp = &filter["memcmp"];
    let offset = memcmp["offset"].as_u64().unwrap_or(0) as usize;
    let bytes = match memcmp["encoding"].as_str() {
        Some("base64") => BASE64.decode(memcmp["bytes"].as_str().unwrap_or("")).ok(),
        _ => bs58::decode(memcmp["bytes"].as_str().unwrap_or(""))
            .into_vec()
            .ok(),
    };
    bytes.is_some_and(|b| data.get(offset..offset + b.len()) == Some(&b[..]))
}

fn decode_transaction(param: &Value) -> Result<VersionedTransaction, String> {
    let bytes = BASE64
        .decode(param.as_str().ok_or("transaction is not a string")?)
        .map_err(|e| format!("base64: {e}"))?;
    bincode::deserialize(&bytes).map_err(|e| format!("transaction: {e}"))
}

/// The compute-unit price a message pays and every account it writes, its lookup tables
/// resolved from the bank.
async fn priced_writes(
    client: &solana_banks_client::BanksClient,
    message: &VersionedMessage,
) -> (u64, Vec<Pubkey>) {
    let keys = message.static_account_keys();
    let price = message
        .instructions()
        .iter()
        .filter(|i| keys[i.program_id_index as usize] == solana_compute_budget_interface::ID)
        .find(|i| i.data.first() == Some(&3) && i.data.len() == 9)
        .map_or(0, |i| u64::from_le_bytes(i.data[1..9].try_into().unwrap()));
    let mut written: Vec<Pubkey> = (0..keys.len())
        .filter(|i| message.is_maybe_writable(*i, None))
        .map(|i| keys[i])
        .collect();
    if let VersionedMessage::V0(v0) = message {
        for lookup in &v0.address_table_lookups {
            if let Ok(Some(table)) = client.get_account(lookup.account_key).await {
                if let Ok(table) = AddressLookupTable::deserialize(&table.data) {
                    written.extend(
                        lookup
                            .writable_indexes
                            .iter()
                            .filter_map(|i| table.addresses.get(*i as usize).copied()),
                    );
                }
            }
        }
    }
    (price, written)
}
