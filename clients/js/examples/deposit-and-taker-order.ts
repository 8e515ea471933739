/**
 * A wallet's first trade: open a position in market 0, deposit 1,000 USDC, then buy up to
 * 10 lots immediately-or-cancel, at most 0.5% above the oracle, sized to what the collateral
 * carries at initial margin. Typechecked with the client (`npm test`); run it against a cluster
 * with `RPC_URL`, a funded `KEYPAIR` (a JSON byte array) and the owner's USDC token account in
 * `OWNER_USDC`: `npx tsx examples/deposit-and-taker-order.ts`.
 */
import {
  address,
  appendTransactionMessageInstructions,
  createKeyPairSignerFromBytes,
  createSolanaRpc,
  createTransactionMessage,
  fetchEncodedAccount,
  getBase64EncodedWireTransaction,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
  type Address,
  type Instruction,
  type TransactionSigner,
} from '@solana/kit';
import { readFileSync } from 'node:fs';
import {
  affordableLots,
  decodeExchangeData,
  decodeMarketData,
  decodeOrderBookData,
  decodePositionData,
  deposit,
  exchangePda,
  marketPda,
  openPosition,
  orderAccounts,
  OrderSide,
  OrderType,
  placeOrder,
  positionPda,
  takerLimit,
  type MarketKeys,
  type PlaceOrderArgs,
} from '../src';

const USDC = 1_000_000n;

async function main(): Promise<void> {
  const rpc = createSolanaRpc(process.env.RPC_URL ?? 'http://127.0.0.1:8899');
  const owner = await createKeyPairSignerFromBytes(
    Uint8Array.from(JSON.parse(readFileSync(process.env.KEYPAIR ?? 'id.json', 'utf8'))),
  );
  const ownerUsdc = address(process.env.OWNER_USDC ?? '');
  const data = async (key: Address): Promise<Uint8Array> => {
    const account = await fetchEncodedAccount(rpc, key);
    if (!account.exists) throw new Error(`no account at ${key}`);
    return new Uint8Array(account.data);
  };
  const send = async (signer: TransactionSigner, instructions: Instruction[]): Promise<void> => {
    const { value: blockhash } = await rpc.getLatestBlockhash().send();
    const message = pipe(
      createTransactionMessage({ version: 0 }),
      (m) => setTransactionMessageFeePayerSigner(signer, m),
      (m) => setTransactionMessageLifetimeUsingBlockhash(blockhash, m),
      (m) => appendTransactionMessageInstructions(instructions, m),
    );
    const transaction = await signTransactionMessageWithSigners(message);
    await rpc
      .sendTransaction(getBase64EncodedWireTransaction(transaction), { encoding: 'base64' })
      .send();
  };

  // The market's accounts, as its Market and the Exchange name them.
  const marketKey = await marketPda(0);
  const market = decodeMarketData(await data(marketKey));
  const exchange = decodeExchangeData(await data(await exchangePda()));
  const keys: MarketKeys = {
    market: marketKey,
    orderBook: market.orderBook,
    registry: market.positionRegistry,
    oracle: market.oracle,
    treasury: exchange.treasury,
  };

  // 1. Open the position (once) and deposit 1,000 USDC into it.
  await send(owner, [
    await openPosition(owner, marketKey, keys.registry),
    await deposit(owner, marketKey, ownerUsdc, 1_000n * USDC),
  ]);

  // 2. A taker bid: the oracle the market last observed (`funding_sample_oracle`, quote atoms
  //    per lot; a wallet would read the oracle account itself), 0.5% of slippage, and as many of
  //    10 lots as the collateral carries at initial margin there.
  const oracle = market.fundingSampleOracle;
  const limit = takerLimit(OrderSide.Bid, oracle, 50n, market.params.tickSize);
  const position = decodePositionData(await data(await positionPda(marketKey, owner.address)));
  const lots = affordableLots(market, position, limit, 10n);
  if (lots === 0n) throw new Error('the collateral carries no lot at initial margin');
  const args: PlaceOrderArgs = {
    side: OrderSide.Bid,
    price: limit,
    lots,
    orderType: OrderType.ImmediateOrCancel,
    reduceOnly: false,
    clientOrderId: 1n,
  };
  // The makers the order may reach, in book order, read off the book (remaining accounts).
  const book = decodeOrderBookData(await data(keys.orderBook));
  const makers = orderAccounts(book, await positionPda(marketKey, owner.address), args);
  await send(owner, [await placeOrder(owner, keys, args, makers)]);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
