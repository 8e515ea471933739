// Every golden instruction (crates/client/src/instructions.rs with fixed inputs) rebuilt with
// the TypeScript client: program, data and account metas byte for byte.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { isSignerRole, isWritableRole, type Instruction } from '@solana/kit';

import * as perps from '../src';
import { addr, fromHex, golden, signer, toHex } from './golden';

const g = golden('instructions');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Inputs = any;

const keys = (k: Inputs): perps.MarketKeys => ({
  market: addr(k.market),
  orderBook: addr(k.order_book),
  registry: addr(k.registry),
  oracle: addr(k.oracle),
  treasury: addr(k.treasury),
});
const params = (hex: string) => perps.getMarketParamsDecoder().decode(fromHex(hex));
const cancelBy = (by: Inputs): perps.CancelByArgs =>
  'OrderId' in by
    ? { __kind: 'OrderId', fields: [BigInt(by.OrderId)] }
    : { __kind: 'ClientOrderId', fields: [BigInt(by.ClientOrderId)] };

const builders: Record<string, (i: Inputs) => Promise<Instruction> | Instruction> = {
  initialize_exchange: (i) =>
    perps.initializeExchange(signer(i.admin), addr(i.collateral_mint), addr(i.treasury), {
      maxTakerFeeBps: i.bounds.max_taker_fee_bps,
      minMaintenanceRatePpm: i.bounds.min_maintenance_rate_ppm,
      maxOracleStalenessSecs: i.bounds.max_oracle_staleness_secs,
      maxOracleConfidencePpm: i.bounds.max_oracle_confidence_ppm,
    }),
  propose_admin: (i) => perps.proposeAdmin(signer(i.admin), addr(i.proposed)),
  accept_admin: (i) => perps.acceptAdmin(signer(i.new_admin)),
  set_treasury: (i) => perps.setTreasury(signer(i.admin), addr(i.treasury)),
  set_oracle_authority: (i) => perps.setOracleAuthority(signer(i.admin), addr(i.price_feed), addr(i.authority)),
  set_exchange_paused: (i) => perps.setExchangePaused(signer(i.admin), i.paused),
  create_price_feed: (i) => perps.createPriceFeed(signer(i.admin), i.market_index, addr(i.authority), i.expo),
  set_price: (i) => perps.setPrice(signer(i.authority), addr(i.price_feed), BigInt(i.price), BigInt(i.conf)),
  create_market: (i) =>
    perps.createMarket(
      signer(i.admin),
      addr(i.collateral_mint),
      i.market_index,
      addr(i.oracle),
      perps.symbol(i.symbol),
      params(i.params_hex),
    ),
  update_market_params: (i) => perps.updateMarketParams(signer(i.admin), addr(i.market), params(i.params_hex)),
  set_market_status: (i) =>
    perps.setMarketStatus(
      signer(i.admin),
      addr(i.market),
      addr(i.oracle),
      perps.MarketStatus[i.status as keyof typeof perps.MarketStatus],
    ),
  open_position: (i) => perps.openPosition(signer(i.owner), addr(i.market), addr(i.registry)),
  deposit: (i) => perps.deposit(signer(i.owner), addr(i.market), addr(i.owner_token), BigInt(i.amount)),
  withdraw: (i) =>
    perps.withdraw(signer(i.owner), addr(i.market), addr(i.owner_token), addr(i.oracle), BigInt(i.amount)),
  close_position: (i) => perps.closePosition(signer(i.owner), addr(i.market), addr(i.registry)),
  fund_insurance: (i) => perps.fundInsurance(signer(i.funder), addr(i.market), addr(i.funder_token), BigInt(i.amount)),
  create_program_account: (i) =>
    perps.createProgramAccount(signer(i.payer), signer(i.account), BigInt(i.space), BigInt(i.lamports)),
  initialize_position_registry: (i) =>
    perps.initializePositionRegistry(signer(i.admin), addr(i.market), addr(i.registry)),
  initialize_order_book: (i) => perps.initializeOrderBook(signer(i.admin), addr(i.market), addr(i.order_book)),
  place_order: (i) =>
    perps.placeOrder(
      signer(i.owner),
      keys(i.keys),
      {
        side: perps.OrderSide[i.args.side as keyof typeof perps.OrderSide],
        price: BigInt(i.args.price),
        lots: BigInt(i.args.lots),
        orderType: perps.OrderType[i.args.order_type as keyof typeof perps.OrderType],
        reduceOnly: i.args.reduce_only,
        clientOrderId: BigInt(i.args.client_order_id),
      },
      i.makers.map(addr),
    ),
  cancel_order: (i) => perps.cancelOrder(signer(i.owner), keys(i.keys), cancelBy(i.by)),
  cancel_all_orders: (i) => perps.cancelAllOrders(signer(i.owner), keys(i.keys)),
  crank_funding: (i) => perps.crankFunding(keys(i.keys)),
  settle_funding: (i) => perps.settleFunding(addr(i.market), addr(i.position)),
  settle_position: (i) => perps.settlePosition(keys(i.keys), addr(i.position)),
  liquidate: (i) => perps.liquidate(signer(i.liquidator), keys(i.keys), addr(i.position)),
  withdraw_insurance: (i) =>
    perps.withdrawInsurance(signer(i.admin), addr(i.market), addr(i.destination), BigInt(i.amount)),
  rank_adl_candidates: (i) =>
    perps.rankAdlCandidates(keys(i.keys), i.first_slot, i.slot_count, i.positions.map(addr)),
  adl: (i) => perps.adl(keys(i.keys), i.ranked.map(addr)),
};

test('the golden file covers every builder here, and every builder has a golden case', () => {
  const names = new Set(g.instructions.map((c: Inputs) => c.name));
  assert.deepEqual([...names].sort(), Object.keys(builders).sort());
});

for (const [n, c] of g.instructions.entries()) {
  test(`instruction ${n}: ${c.name}`, async () => {
    const built = await builders[c.name](c.inputs);
    const expected = c.program_id === '11111111111111111111111111111111' ? c.program_id : g.program_id;
    assert.equal(built.programAddress, c.program_id);
    assert.equal(c.program_id, expected);
    assert.equal(toHex(built.data ?? new Uint8Array()), c.data);
    assert.deepEqual(
      (built.accounts ?? []).map((m) => ({
        pubkey: m.address,
        is_signer: isSignerRole(m.role),
        is_writable: isWritableRole(m.role),
      })),
      c.accounts,
    );
  });
}
