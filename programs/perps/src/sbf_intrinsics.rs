//! LLVM's 128-bit library calls for a build with upstream LLVM's BPF target (sbf/build.sh).
//!
//! LLVM lowers a 128-bit multiply, divide or shift it cannot do inline to a call of `__multi3`,
//! `__udivti3` … passing each `i128` in two registers and taking the result back in registers.
//! Upstream rustc's BPF ABI passes and returns `i128` indirectly, through memory, so the
//! definitions in `compiler_builtins` (and solana-compiler-builtins, built with `weak-linkage`
//! for that reason) read the caller's first argument as the address of the result: the first
//! overflow-checked 64-bit multiply (`Rent::minimum_balance`) stored through address 3,480.
//! `extern "unadjusted"` gives these the LLVM signature the caller uses, `i128 (i128, i128)`;
//! being strong, they replace the weak ones. Platform-tools' rustc passes `i128` in registers
//! itself, and its `target_arch` is `sbf`, so none of this is built there.
//!
//! Each body uses 64-bit operations only (an `i128` product or quotient here would call itself),
//! through the engine's routines, which are property-tested against native 128-bit arithmetic.

use perps_engine::math::div_rem_u128;

/// Truncating signed division and its remainder (the remainder takes the dividend's sign).
fn div_rem_i128(n: i128, d: i128) -> (i128, i128) {
    let (q, r) = div_rem_u128(n.unsigned_abs(), d.unsigned_abs());
    let q = if (n < 0) != (d < 0) {
        (q as i128).wrapping_neg()
    } else {
        q as i128
    };
    let r = if n < 0 {
        (r as i128).wrapping_neg()
    } else {
        r as i128
    };
    (q, r)
}

/// `(high, low)` halves of a 128-bit value.
fn halves(a: u128) -> (u64, u64) {
    ((a >> 64) as u64, a as u64)
}

fn join(high: u64, low: u64) -> u128 {
    ((high as u128) << 64) | low as u128
}

fn shift_left(a: u128, shift: u32) -> u128 {
    let (high, low) = halves(a);
    match shift & 127 {
        0 => a,
        s @ 1..=63 => join((high << s) | (low >> (64 - s)), low << s),
        s => join(low << (s - 64), 0),
    }
}

fn shift_right(a: u128, shift: u32) -> u128 {
    let (high, low) = halves(a);
    match shift & 127 {
        0 => a,
        s @ 1..=63 => join(high >> s, (low >> s) | (high << (64 - s))),
        s => join(0, high >> (s - 64)),
    }
}

fn shift_right_arithmetic(a: i128, shift: u32) -> i128 {
    let (high, low) = halves(a as u128);
    let signed_high = high as i64;
    (match shift & 127 {
        0 => a as u128,
        s @ 1..=63 => join((signed_high >> s) as u64, (low >> s) | (high << (64 - s))),
        s => join((signed_high >> 63) as u64, (signed_high >> (s - 64)) as u64),
    }) as i128
}

/// The symbols, with the register ABI LLVM's calls use.
#[cfg(target_arch = "bpf")]
mod symbols {
    use super::*;
    use perps_engine::math::wrapping_mul_u128;

    #[unsafe(no_mangle)]
    pub extern "unadjusted" fn __multi3(a: i128, b: i128) -> i128 {
        wrapping_mul_u128(a as u128, b as u128) as i128
    }

    // Rust checks a zero divisor (and `i128::MIN / -1`) before it divides: none reaches these.
    #[unsafe(no_mangle)]
    pub extern "unadjusted" fn __udivti3(n: u128, d: u128) -> u128 {
        div_rem_u128(n, d).0
    }

    #[unsafe(no_mangle)]
    pub extern "unadjusted" fn __umodti3(n: u128, d: u128) -> u128 {
        div_rem_u128(n, d).1
    }

    #[unsafe(no_mangle)]
    pub extern "unadjusted" fn __divti3(n: i128, d: i128) -> i128 {
        div_rem_i128(n, d).0
    }

    #[unsafe(no_mangle)]
    pub extern "unadjusted" fn __modti3(n: i128, d: i128) -> i128 {
        div_rem_i128(n, d).1
    }

    #[unsafe(no_mangle)]
    pub extern "unadjusted" fn __ashlti3(a: i128, shift: i32) -> i128 {
        shift_left(a as u128, shift as u32) as i128
    }

    #[unsafe(no_mangle)]
    pub extern "unadjusted" fn __lshrti3(a: i128, shift: i32) -> i128 {
        shift_right(a as u128, shift as u32) as i128
    }

    #[unsafe(no_mangle)]
    pub extern "unadjusted" fn __ashrti3(a: i128, shift: i32) -> i128 {
        shift_right_arithmetic(a, shift as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn signed_quotients_and_shifts_match_native_128_bit_arithmetic(
            n in any::<i128>(), d in any::<i128>(), bits in 0u32..128, shift in 0u32..128,
        ) {
            let d = d >> bits;
            if d != 0 && !(n == i128::MIN && d == -1) {
                prop_assert_eq!(div_rem_i128(n, d), (n / d, n % d));
            }
            prop_assert_eq!(shift_left(n as u128, shift), (n as u128) << shift);
            prop_assert_eq!(shift_right(n as u128, shift), (n as u128) >> shift);
            prop_assert_eq!(shift_right_arithmetic(n, shift), n >> shift);
        }
    }
}
