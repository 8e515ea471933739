//! The localnet over its own wire: an RpcClient finds the exchange's market, the traders'
//! positions by a program-account scan, and the collateral they deposited.

use perps_client::{accounts as decode, pda};
use perps_localnet::{launch, LaunchConfig};
use perps_testkit::USDC;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_signer::Signer;

#[tokio::test(flavor = "multi_thread")]
async fn a_launched_localnet_serves_its_market_and_funded_positions_over_json_rpc() {
    let net = launch(&LaunchConfig {
        rpc_address: "127.0.0.1:0".into(),
        ws_address: "127.0.0.1:0".into(),
        traders: 3,
        collateral: 500 * USDC,
    })
    .await
    .unwrap();
    let rpc = RpcClient::new(net.front.url.clone());
    let market = rpc.get_account(&net.market.market).await.unwrap();
    assert_eq!(market.owner, perps::ID);
    assert_eq!(
        decode::market(&market.data).unwrap().index,
        net.market.index
    );
    let positions = rpc.get_program_accounts(&perps::ID).await.unwrap();
    for (name, keypair) in net.wallets.iter().filter(|(n, _)| n.starts_with("trader")) {
        let key = pda::position(&net.market.market, &keypair.pubkey());
        let (_, account) = positions
            .iter()
            .find(|(k, _)| *k == key)
            .unwrap_or_else(|| panic!("{name}'s position is not served"));
        assert_eq!(
            decode::position(&account.data).unwrap().collateral,
            500 * USDC as i64
        );
    }
    let names: Vec<&str> = net.wallets.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "admin",
            "oracle-authority",
            "keeper",
            "trader-0",
            "trader-1",
            "trader-2"
        ]
    );
}
