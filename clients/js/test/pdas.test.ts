import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  collateralVaultPda,
  eventAuthorityPda,
  exchangePda,
  insuranceVaultPda,
  marketPda,
  positionPda,
  priceFeedPda,
  programDataPda,
  PROGRAM_ID,
} from '../src';
import { addr, golden } from './golden';

const g = golden('pdas');

test('PDAs match the Rust client', async () => {
  const market = await marketPda(3);
  assert.equal(PROGRAM_ID, g.program_id);
  assert.equal(await exchangePda(), g.exchange);
  assert.equal(await marketPda(0), g.market_0);
  assert.equal(market, g.market_3);
  assert.equal(await marketPda(513), g.market_513);
  assert.equal(await collateralVaultPda(market), g.collateral_vault_3);
  assert.equal(await insuranceVaultPda(market), g.insurance_vault_3);
  assert.equal(await priceFeedPda(market), g.price_feed_3);
  assert.equal(await positionPda(market, addr('8qbHbw2BbbTHBW1sbeqakYXVKRQM8Ne7pLK7m6CVfeR')), g.position_3_owner2);
  assert.equal(await programDataPda(), g.program_data);
  assert.equal(await eventAuthorityPda(), g.event_authority);
});
