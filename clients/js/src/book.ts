// Reading the order book off-chain: which maker Position accounts a taker order reaches,
// mirroring crates/client/src/book.rs (makers_in_reach, evictee, order_accounts).
import type { Address } from '@solana/kit';

import { OrderSide, OrderType, type OrderBook, type RestingOrder } from './generated';
import type { PlaceOrderArgs } from './instructions';

export const BOOK_SIDE_CAPACITY = 512;

/** Whether an order on `side` at `limit` trades with a resting order at `resting`. */
export function crosses(side: OrderSide, limit: bigint, resting: bigint): boolean {
  return side === OrderSide.Bid ? resting <= limit : resting >= limit;
}

/** A side's resting orders, sorted worst to best (the best is last). */
export function sideOrders(book: OrderBook, side: OrderSide): RestingOrder[] {
  const bookSide = side === OrderSide.Bid ? book.book.bids : book.book.asks;
  return bookSide.orders.slice(0, Number(bookSide.len));
}

/** The distinct maker Position accounts a taker order on `side` at `limit` for `lots` reaches,
 * in the order matching meets them, skipping the taker's own orders (self-trade prevention
 * cancels those instead of filling them). */
export function makersInReach(book: OrderBook, taker: Address, side: OrderSide, limit: bigint, lots: bigint): Address[] {
  const makers: Address[] = [];
  let left = lots;
  const resting = sideOrders(book, side === OrderSide.Bid ? OrderSide.Ask : OrderSide.Bid);
  for (let i = resting.length - 1; i >= 0; i--) {
    const order = resting[i];
    if (left === 0n || !crosses(side, limit, order.price)) break;
    if (order.maker === taker) continue;
    left = left > order.lots ? left - order.lots : 0n;
    if (!makers.includes(order.maker)) makers.push(order.maker);
  }
  return makers;
}

/** The maker of the resting order an order at `price` on `side` would push off its full side. */
export function evictee(book: OrderBook, side: OrderSide, price: bigint): Address | null {
  const orders = sideOrders(book, side);
  if (orders.length < BOOK_SIDE_CAPACITY) return null;
  const worst = orders[0];
  return worst.price !== price && crosses(side, price, worst.price) ? worst.maker : null;
}

/** Every Position account `place_order` may need for `args` from `taker` (its own position):
 * the makers in reach, then the maker of the order it would evict if its side is full. */
export function orderAccounts(book: OrderBook, taker: Address, args: PlaceOrderArgs): Address[] {
  const accounts = makersInReach(book, taker, args.side, args.price, args.lots);
  if (args.orderType !== OrderType.ImmediateOrCancel) {
    const maker = evictee(book, args.side, args.price);
    if (maker !== null && maker !== taker && !accounts.includes(maker)) accounts.push(maker);
  }
  return accounts;
}
