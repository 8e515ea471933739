// Program-derived addresses, as crates/client/src/pda.rs derives them. The PDAs with seeds in
// the IDL come from the generated code; the program data and event authority are hand-written
// (the IDL names neither's seeds).
import { getAddressEncoder, getProgramDerivedAddress, type Address } from '@solana/kit';

import {
  findCollateralVaultPda,
  findExchangePda,
  findInsuranceVaultPda,
  findMarketPda,
  findPositionPda,
  findPriceFeedPda,
  PERPS_PROGRAM_ADDRESS,
} from './generated';

export const PROGRAM_ID = PERPS_PROGRAM_ADDRESS;
export const BPF_LOADER_UPGRADEABLE =
  'BPFLoaderUpgradeab1e11111111111111111111111' as Address<'BPFLoaderUpgradeab1e11111111111111111111111'>;
export const SYSTEM_PROGRAM = '11111111111111111111111111111111' as Address<'11111111111111111111111111111111'>;
export const TOKEN_PROGRAM =
  'TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA' as Address<'TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA'>;

export async function exchangePda(): Promise<Address> {
  return (await findExchangePda())[0];
}

export async function marketPda(index: number): Promise<Address> {
  return (await findMarketPda({ marketIndex: index }))[0];
}

export async function collateralVaultPda(market: Address): Promise<Address> {
  return (await findCollateralVaultPda({ market }))[0];
}

export async function insuranceVaultPda(market: Address): Promise<Address> {
  return (await findInsuranceVaultPda({ market }))[0];
}

export async function positionPda(market: Address, owner: Address): Promise<Address> {
  return (await findPositionPda({ market, owner }))[0];
}

export async function priceFeedPda(market: Address): Promise<Address> {
  return (await findPriceFeedPda({ market }))[0];
}

/** The program's data account under the upgradeable loader (names the upgrade authority). */
export async function programDataPda(programId: Address = PROGRAM_ID): Promise<Address> {
  const [address] = await getProgramDerivedAddress({
    programAddress: BPF_LOADER_UPGRADEABLE,
    seeds: [getAddressEncoder().encode(programId)],
  });
  return address;
}

/** The signer of the program's self-CPI events (Anchor's event-cpi). */
export async function eventAuthorityPda(programId: Address = PROGRAM_ID): Promise<Address> {
  const [address] = await getProgramDerivedAddress({
    programAddress: programId,
    seeds: [new TextEncoder().encode('__event_authority')],
  });
  return address;
}
