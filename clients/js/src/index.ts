// The perps TypeScript client: the Codama-generated core (./generated) and the hand-written
// helpers a wallet needs on top of it.
export * from './generated';
export * from './pda';
export * from './instructions';
export * from './accounts';
export * from './events';
export * from './book';
export * from './sizing';
export * from './adl';
