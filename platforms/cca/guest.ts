/**
 * CCA realm guest operations for test programs (arch/arm64/include/asm/rsi.h).
 */
import type { GuestBuilder } from '../../lib/guest/builder.js';
import { RSI_ACCEPT } from './uapi.js';
import type { Num } from '../../lib/libc/int.js';

/** RSI_IPA_STATE_SET(base, top, RIPAS): 'empty' before sharing, 'ram' to take it back; status is the host's response. */
export function ccaRsiIpaStateSet(g: GuestBuilder, base: Num, top: Num, ripas: 'ram' | 'empty', expect = RSI_ACCEPT): void {
  g.platform('cca.rsi_ipa_state_set', { base: BigInt(base), top: BigInt(top), ripas }, { expect, expr: 'rsi_ipa_state_set() response' });
}
