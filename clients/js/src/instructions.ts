// One builder per instruction, mirroring crates/client/src/instructions.rs: each derives the PDAs
// it can (exchange, vaults, the caller's position, the event authority) and fills in the program
// and token/system programs, so a caller passes only signers, its own token accounts, the market
// and the amounts. The generated builders (./generated) encode the data and order the accounts;
// the remaining accounts of place_order, rank_adl_candidates and adl, and the system program's
// CreateAccount for the client-created book and registry, are added here.
import {
  AccountRole,
  getAddressEncoder,
  getU32Encoder,
  getU64Encoder,
  type AccountMeta,
  type Address,
  type Instruction,
  type TransactionSigner,
} from '@solana/kit';

import {
  getAcceptAdminInstruction,
  getAdlInstruction,
  getCancelAllOrdersInstruction,
  getCancelOrderInstruction,
  getClosePositionInstruction,
  getCrankFundingInstruction,
  getCreateMarketInstruction,
  getCreatePriceFeedInstruction,
  getDepositInstruction,
  getFundInsuranceInstruction,
  getInitializeExchangeInstruction,
  getInitializeOrderBookInstruction,
  getInitializePositionRegistryInstruction,
  getLiquidateInstruction,
  getOpenPositionInstruction,
  getPlaceOrderInstruction,
  getProposeAdminInstruction,
  getRankAdlCandidatesInstruction,
  getSetExchangePausedInstruction,
  getSetMarketStatusInstruction,
  getSetOracleAuthorityInstruction,
  getSetPriceInstruction,
  getSetTreasuryInstruction,
  getSettleFundingInstruction,
  getSettlePositionInstruction,
  getUpdateMarketParamsInstruction,
  getWithdrawInsuranceInstruction,
  getWithdrawInstruction,
  type CancelByArgs,
  type ExchangeBoundsArgs,
  type MarketParamsArgs,
  type MarketStatus,
  type OrderSide,
  type OrderType,
} from './generated';
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
  SYSTEM_PROGRAM,
} from './pda';

/** The accounts of one market that trading instructions name. */
export type MarketKeys = {
  market: Address;
  orderBook: Address;
  registry: Address;
  oracle: Address;
  treasury: Address;
};

/** An order as `place_order` takes it (the program's `PlaceOrderArgs`). */
export type PlaceOrderArgs = {
  side: OrderSide;
  /** Quote atoms per lot, a multiple of the tick size. */
  price: bigint;
  lots: bigint;
  orderType: OrderType;
  reduceOnly: boolean;
  clientOrderId: bigint;
};

/** The size of an order book account (8 + the zero-copy OrderBook). */
export const ORDER_BOOK_SPACE = 73_864;
/** The position registry's header (8 + PositionRegistry) and the size of one slot. */
export const REGISTRY_HEADER_SIZE = 10_408;
export const REGISTRY_SLOT_SIZE = 40;
/** The size of a position registry account holding `capacity` positions. */
export function registryAccountSize(capacity: number): number {
  return REGISTRY_HEADER_SIZE + capacity * REGISTRY_SLOT_SIZE;
}

/** A market symbol as stored: UTF-8, zero-padded to 16 bytes (longer names are cut). */
export function symbol(name: string): Uint8Array {
  const out = new Uint8Array(16);
  out.set(new TextEncoder().encode(name).subarray(0, 16));
  return out;
}

async function cpi() {
  return { eventAuthority: await eventAuthorityPda(), program: PROGRAM_ID };
}

function withRemaining(instruction: Instruction, accounts: readonly Address[], role: AccountRole): Instruction {
  const extra: AccountMeta[] = accounts.map((address) => ({ address, role }));
  return { ...instruction, accounts: [...(instruction.accounts ?? []), ...extra] };
}

export async function initializeExchange(
  admin: TransactionSigner,
  collateralMint: Address,
  treasury: Address,
  bounds: ExchangeBoundsArgs,
): Promise<Instruction> {
  return getInitializeExchangeInstruction({
    ...(await cpi()),
    admin,
    programData: await programDataPda(),
    exchange: await exchangePda(),
    collateralMint,
    treasury,
    bounds,
  });
}

/** Names `proposed` as the next admin (the first step of a transfer). */
export async function proposeAdmin(admin: TransactionSigner, proposed: Address): Promise<Instruction> {
  return getProposeAdminInstruction({ ...(await cpi()), admin, exchange: await exchangePda(), proposed });
}

/** The proposed admin takes over (the second step). */
export async function acceptAdmin(newAdmin: TransactionSigner): Promise<Instruction> {
  return getAcceptAdminInstruction({ ...(await cpi()), newAdmin, exchange: await exchangePda() });
}

export async function setTreasury(admin: TransactionSigner, treasury: Address): Promise<Instruction> {
  return getSetTreasuryInstruction({ ...(await cpi()), admin, exchange: await exchangePda(), treasury });
}

export async function setOracleAuthority(
  admin: TransactionSigner,
  priceFeed: Address,
  authority: Address,
): Promise<Instruction> {
  return getSetOracleAuthorityInstruction({
    ...(await cpi()),
    admin,
    exchange: await exchangePda(),
    priceFeed,
    authority,
  });
}

export async function setExchangePaused(admin: TransactionSigner, paused: boolean): Promise<Instruction> {
  return getSetExchangePausedInstruction({ ...(await cpi()), admin, exchange: await exchangePda(), paused });
}

export async function createPriceFeed(
  admin: TransactionSigner,
  marketIndex: number,
  authority: Address,
  expo: number,
): Promise<Instruction> {
  const market = await marketPda(marketIndex);
  return getCreatePriceFeedInstruction({
    ...(await cpi()),
    admin,
    exchange: await exchangePda(),
    market,
    priceFeed: await priceFeedPda(market),
    marketIndex,
    authority,
    expo,
  });
}

export async function setPrice(
  authority: TransactionSigner,
  priceFeed: Address,
  price: bigint,
  conf: bigint,
): Promise<Instruction> {
  return getSetPriceInstruction({ ...(await cpi()), authority, priceFeed, price, conf });
}

export async function createMarket(
  admin: TransactionSigner,
  collateralMint: Address,
  marketIndex: number,
  oracle: Address,
  marketSymbol: Uint8Array,
  params: MarketParamsArgs,
): Promise<Instruction> {
  const market = await marketPda(marketIndex);
  return getCreateMarketInstruction({
    ...(await cpi()),
    admin,
    exchange: await exchangePda(),
    market,
    collateralVault: await collateralVaultPda(market),
    insuranceVault: await insuranceVaultPda(market),
    collateralMint,
    oracle,
    symbol: marketSymbol,
    params,
  });
}

export async function updateMarketParams(
  admin: TransactionSigner,
  market: Address,
  params: MarketParamsArgs,
): Promise<Instruction> {
  return getUpdateMarketParamsInstruction({ ...(await cpi()), admin, exchange: await exchangePda(), market, params });
}

export async function setMarketStatus(
  admin: TransactionSigner,
  market: Address,
  oracle: Address,
  status: MarketStatus,
): Promise<Instruction> {
  return getSetMarketStatusInstruction({
    ...(await cpi()),
    admin,
    exchange: await exchangePda(),
    market,
    oracle,
    status,
  });
}

/** Opens the owner's position in `market`, registering it in the market's `registry`. */
export async function openPosition(owner: TransactionSigner, market: Address, registry: Address): Promise<Instruction> {
  return getOpenPositionInstruction({
    ...(await cpi()),
    exchange: await exchangePda(),
    owner,
    market,
    registry,
    position: await positionPda(market, owner.address),
  });
}

/** Moves `amount` of the collateral mint from `ownerToken` into the owner's position. */
export async function deposit(
  owner: TransactionSigner,
  market: Address,
  ownerToken: Address,
  amount: bigint,
): Promise<Instruction> {
  return getDepositInstruction({
    ...(await cpi()),
    exchange: await exchangePda(),
    owner,
    market,
    position: await positionPda(market, owner.address),
    collateralVault: await collateralVaultPda(market),
    ownerToken,
    amount,
  });
}

/** Withdraws `amount` (an idle position may take everything: pass its collateral). */
export async function withdraw(
  owner: TransactionSigner,
  market: Address,
  ownerToken: Address,
  oracle: Address,
  amount: bigint,
): Promise<Instruction> {
  return getWithdrawInstruction({
    ...(await cpi()),
    exchange: await exchangePda(),
    owner,
    market,
    position: await positionPda(market, owner.address),
    collateralVault: await collateralVaultPda(market),
    ownerToken,
    oracle,
    amount,
  });
}

/** Closes a flat, idle, empty position; its rent goes back to the owner. */
export async function closePosition(owner: TransactionSigner, market: Address, registry: Address): Promise<Instruction> {
  return getClosePositionInstruction({
    ...(await cpi()),
    owner,
    position: await positionPda(market, owner.address),
    registry,
  });
}

export async function fundInsurance(
  funder: TransactionSigner,
  market: Address,
  funderToken: Address,
  amount: bigint,
): Promise<Instruction> {
  return getFundInsuranceInstruction({
    ...(await cpi()),
    exchange: await exchangePda(),
    funder,
    market,
    insuranceVault: await insuranceVaultPda(market),
    funderToken,
    amount,
  });
}

/**
 * The system program's CreateAccount of `space` bytes owned by the program, for the order book
 * (`ORDER_BOOK_SPACE`) or a position registry (`registryAccountSize`), too large for the program
 * to create. The new account's keypair must sign.
 */
export function createProgramAccount(
  payer: TransactionSigner,
  account: TransactionSigner,
  space: bigint,
  lamports: bigint,
): Instruction {
  const data = new Uint8Array(52);
  data.set(getU32Encoder().encode(0), 0);
  data.set(getU64Encoder().encode(lamports), 4);
  data.set(getU64Encoder().encode(space), 12);
  data.set(getAddressEncoder().encode(PROGRAM_ID), 20);
  return {
    programAddress: SYSTEM_PROGRAM,
    accounts: [
      { address: payer.address, role: AccountRole.WRITABLE_SIGNER, signer: payer } as AccountMeta,
      { address: account.address, role: AccountRole.WRITABLE_SIGNER, signer: account } as AccountMeta,
    ],
    data,
  };
}

export async function initializePositionRegistry(
  admin: TransactionSigner,
  market: Address,
  registry: Address,
): Promise<Instruction> {
  return getInitializePositionRegistryInstruction({
    ...(await cpi()),
    admin,
    exchange: await exchangePda(),
    market,
    registry,
  });
}

export async function initializeOrderBook(admin: TransactionSigner, market: Address, orderBook: Address): Promise<Instruction> {
  return getInitializeOrderBookInstruction({
    ...(await cpi()),
    admin,
    exchange: await exchangePda(),
    market,
    orderBook,
  });
}

/**
 * Places an order; `makers` are the Position accounts of the resting orders it may reach, in
 * book order, then the evicted order's maker (`orderAccounts` in ./book reads them off a decoded
 * OrderBook), appended writable.
 */
export async function placeOrder(
  owner: TransactionSigner,
  keys: MarketKeys,
  args: PlaceOrderArgs,
  makers: readonly Address[],
): Promise<Instruction> {
  const instruction = getPlaceOrderInstruction({
    ...(await cpi()),
    owner,
    exchange: await exchangePda(),
    market: keys.market,
    orderBook: keys.orderBook,
    position: await positionPda(keys.market, owner.address),
    oracle: keys.oracle,
    collateralVault: await collateralVaultPda(keys.market),
    insuranceVault: await insuranceVaultPda(keys.market),
    treasury: keys.treasury,
    ...args,
  });
  return withRemaining(instruction, makers, AccountRole.WRITABLE);
}

/** Cancels one order by its id (`{ __kind: 'OrderId', fields: [id] }`) or client order id. */
export async function cancelOrder(owner: TransactionSigner, keys: MarketKeys, by: CancelByArgs): Promise<Instruction> {
  return getCancelOrderInstruction({
    ...(await cpi()),
    owner,
    market: keys.market,
    orderBook: keys.orderBook,
    position: await positionPda(keys.market, owner.address),
    by,
  });
}

export async function cancelAllOrders(owner: TransactionSigner, keys: MarketKeys): Promise<Instruction> {
  return getCancelAllOrdersInstruction({
    ...(await cpi()),
    owner,
    market: keys.market,
    orderBook: keys.orderBook,
    position: await positionPda(keys.market, owner.address),
  });
}

export async function crankFunding(keys: MarketKeys): Promise<Instruction> {
  return getCrankFundingInstruction({
    ...(await cpi()),
    exchange: await exchangePda(),
    market: keys.market,
    orderBook: keys.orderBook,
    oracle: keys.oracle,
    collateralVault: await collateralVaultPda(keys.market),
    insuranceVault: await insuranceVaultPda(keys.market),
  });
}

export async function settleFunding(market: Address, position: Address): Promise<Instruction> {
  return getSettleFundingInstruction({ exchange: await exchangePda(), market, position });
}

/** Closes `position` at the settlement price of its Settled market (permissionless). */
export async function settlePosition(keys: MarketKeys, position: Address): Promise<Instruction> {
  return getSettlePositionInstruction({
    ...(await cpi()),
    exchange: await exchangePda(),
    market: keys.market,
    orderBook: keys.orderBook,
    position,
    collateralVault: await collateralVaultPda(keys.market),
    insuranceVault: await insuranceVaultPda(keys.market),
  });
}

/** Liquidates `position`; the liquidator's own position in the market takes the lots over. */
export async function liquidate(liquidator: TransactionSigner, keys: MarketKeys, position: Address): Promise<Instruction> {
  return getLiquidateInstruction({
    ...(await cpi()),
    exchange: await exchangePda(),
    liquidator,
    market: keys.market,
    orderBook: keys.orderBook,
    liquidatorPosition: await positionPda(keys.market, liquidator.address),
    position,
    oracle: keys.oracle,
    collateralVault: await collateralVaultPda(keys.market),
    insuranceVault: await insuranceVaultPda(keys.market),
  });
}

export async function withdrawInsurance(
  admin: TransactionSigner,
  market: Address,
  destination: Address,
  amount: bigint,
): Promise<Instruction> {
  return getWithdrawInsuranceInstruction({
    ...(await cpi()),
    admin,
    exchange: await exchangePda(),
    market,
    insuranceVault: await insuranceVaultPda(market),
    destination,
    amount,
  });
}

/** Ranks registry slots `firstSlot .. firstSlot + slotCount`; `positions` are exactly the
 * positions registered there, in slot order (read-only). */
export async function rankAdlCandidates(
  keys: MarketKeys,
  firstSlot: number,
  slotCount: number,
  positions: readonly Address[],
): Promise<Instruction> {
  const instruction = getRankAdlCandidatesInstruction({
    ...(await cpi()),
    exchange: await exchangePda(),
    market: keys.market,
    registry: keys.registry,
    firstSlot,
    slotCount,
  });
  return withRemaining(instruction, positions, AccountRole.READONLY);
}

/** One ADL step against `ranked`, the on-chain ranking's next unfilled positions, in order. */
export async function adl(keys: MarketKeys, ranked: readonly Address[]): Promise<Instruction> {
  const instruction = getAdlInstruction({
    ...(await cpi()),
    exchange: await exchangePda(),
    market: keys.market,
    orderBook: keys.orderBook,
    registry: keys.registry,
    oracle: keys.oracle,
    collateralVault: await collateralVaultPda(keys.market),
    insuranceVault: await insuranceVaultPda(keys.market),
  });
  return withRemaining(instruction, ranked, AccountRole.WRITABLE);
}
