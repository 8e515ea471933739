//! Checked integer helpers with explicit rounding direction. Every failure is `MathOverflow`.
//!
//! Every 128-bit product and quotient of the engine is computed here from 64-bit operations: the
//! BPF target has no 128-bit multiply or divide, so nothing else in the engine multiplies or
//! divides 128-bit values. The same routines stand in for LLVM's 128-bit library calls
//! (`__multi3`, `__udivti3` …) when the program is built with upstream LLVM (the program's
//! `sbf_intrinsics`), so they are public.

use crate::{EngineError, EngineResult};

const LOW32: u64 = u32::MAX as u64;

/// `a · b` exactly, from four 32 × 32-bit products.
pub fn mul_wide_u64(a: u64, b: u64) -> u128 {
    let (a_hi, a_lo) = (a >> 32, a & LOW32);
    let (b_hi, b_lo) = (b >> 32, b & LOW32);
    // 32 × 32-bit products cannot overflow; wrapping, because an overflow-checked 64-bit
    // multiply is itself a 128-bit multiply on BPF, and `__multi3` is built on this function.
    let lo_lo = a_lo.wrapping_mul(b_lo);
    let hi_lo = a_hi.wrapping_mul(b_lo);
    let lo_hi = a_lo.wrapping_mul(b_hi);
    let hi_hi = a_hi.wrapping_mul(b_hi);
    // At most 3 · (2^32 − 1): no carry is lost.
    let middle = (lo_lo >> 32) + (hi_lo & LOW32) + (lo_hi & LOW32);
    let low = (middle << 32) | (lo_lo & LOW32);
    let high = hi_hi + (hi_lo >> 32) + (lo_hi >> 32) + (middle >> 32);
    ((high as u128) << 64) | low as u128
}

/// `a · b` modulo 2^128 (the low half of the product).
pub fn wrapping_mul_u128(a: u128, b: u128) -> u128 {
    let (a_hi, a_lo) = ((a >> 64) as u64, a as u64);
    let (b_hi, b_lo) = ((b >> 64) as u64, b as u64);
    let cross = a_lo
        .wrapping_mul(b_hi)
        .wrapping_add(a_hi.wrapping_mul(b_lo));
    mul_wide_u64(a_lo, b_lo).wrapping_add((cross as u128) << 64)
}

/// `a · b`, or `None` past `u128::MAX`.
pub(crate) fn checked_mul_u128(a: u128, b: u128) -> Option<u128> {
    let (a_hi, a_lo) = ((a >> 64) as u64, a as u64);
    let (b_hi, b_lo) = ((b >> 64) as u64, b as u64);
    if a_hi != 0 && b_hi != 0 {
        return None;
    }
    // One of the two cross products is zero.
    let cross = mul_wide_u64(a_hi, b_lo) + mul_wide_u64(a_lo, b_hi);
    if cross >> 64 != 0 {
        return None;
    }
    mul_wide_u64(a_lo, b_lo).checked_add(cross << 64)
}

fn digits(value: u128) -> [u32; 4] {
    [
        value as u32,
        (value >> 32) as u32,
        (value >> 64) as u32,
        (value >> 96) as u32,
    ]
}

fn from_digits(digits: &[u32; 4]) -> u128 {
    digits
        .iter()
        .rev()
        .fold(0u128, |value, &digit| (value << 32) | digit as u128)
}

/// The number of digits up to the most significant non-zero one (at least 1).
fn significant(digits: &[u32; 4]) -> usize {
    digits
        .iter()
        .rposition(|&d| d != 0)
        .map_or(1, |top| top + 1)
}

/// `(n / d, n % d)` for `d > 0`: Knuth's algorithm D on 32-bit digits (as in Hacker's Delight,
/// `divmnu`), each step a 64-bit division.
pub fn div_rem_u128(n: u128, d: u128) -> (u128, u128) {
    if n < d {
        return (0, n);
    }
    if n >> 64 == 0 {
        let (n, d) = (n as u64, d as u64);
        return ((n / d) as u128, (n % d) as u128);
    }
    let (u, v) = (digits(n), digits(d));
    let (m, len) = (significant(&u), significant(&v));
    let mut q = [0u32; 4];
    if len == 1 {
        let divisor = v[0] as u64;
        let mut rem = 0u64;
        for j in (0..m).rev() {
            let t = (rem << 32) | u[j] as u64;
            q[j] = (t / divisor) as u32;
            rem = t % divisor;
        }
        return (from_digits(&q), rem as u128);
    }
    // Normalise: shift both so that the divisor's top digit has its high bit set.
    let s = v[len - 1].leading_zeros();
    let shifted = |high: u32, low: u32| (((high as u64) << s) | ((low as u64) >> (32 - s))) as u32;
    let mut vn = [0u32; 4];
    for i in (1..len).rev() {
        vn[i] = shifted(v[i], v[i - 1]);
    }
    vn[0] = v[0] << s;
    let mut un = [0u32; 5];
    un[m] = shifted(0, u[m - 1]);
    for i in (1..m).rev() {
        un[i] = shifted(u[i], u[i - 1]);
    }
    un[0] = u[0] << s;
    let base = 1u64 << 32;
    let top = vn[len - 1] as u64;
    for j in (0..=m - len).rev() {
        // Estimate the quotient digit from the top two digits, then correct it (at most twice).
        let num = ((un[j + len] as u64) << 32) | un[j + len - 1] as u64;
        // Products of two digits cannot overflow 64 bits; they are written as wrapping because an
        // overflow-checked 64-bit multiply is itself a 128-bit multiply on BPF.
        let (mut qhat, mut rhat) = (num / top, num % top);
        while qhat >= base
            || qhat.wrapping_mul(vn[len - 2] as u64) > ((rhat << 32) | un[j + len - 2] as u64)
        {
            qhat -= 1;
            rhat += top;
            if rhat >= base {
                break;
            }
        }
        // Multiply and subtract.
        debug_assert!(qhat < base);
        let mut borrow: i64 = 0;
        for i in 0..len {
            let p = qhat.wrapping_mul(vn[i] as u64);
            let t = un[i + j] as i64 - borrow - (p & LOW32) as i64;
            un[i + j] = t as u32;
            borrow = (p >> 32) as i64 - (t >> 32);
        }
        let t = un[j + len] as i64 - borrow;
        un[j + len] = t as u32;
        q[j] = qhat as u32;
        if t < 0 {
            // The estimate was one too large: add the divisor back.
            q[j] -= 1;
            let mut carry = 0u64;
            for i in 0..len {
                let t = un[i + j] as u64 + vn[i] as u64 + carry;
                un[i + j] = t as u32;
                carry = t >> 32;
            }
            un[j + len] = un[j + len].wrapping_add(carry as u32);
        }
    }
    let mut r = [0u32; 4];
    for i in 0..len {
        r[i] = (((un[i] as u64) >> s) | ((un[i + 1] as u64) << (32 - s))) as u32;
    }
    (from_digits(&q), from_digits(&r))
}

/// The i128 of sign `negative` and this magnitude, if it fits.
fn signed(magnitude: u128, negative: bool) -> EngineResult<i128> {
    if negative {
        0i128.checked_sub_unsigned(magnitude)
    } else {
        i128::try_from(magnitude).ok()
    }
    .ok_or(EngineError::MathOverflow)
}

/// `(n / d, n % d)` truncated toward zero, as i128's `/` and `%`.
fn div_rem(n: i128, d: i128) -> EngineResult<(i128, i128)> {
    if d == 0 {
        return Err(EngineError::MathOverflow);
    }
    let (q, r) = div_rem_u128(n.unsigned_abs(), d.unsigned_abs());
    Ok((signed(q, (n < 0) != (d < 0))?, signed(r, n < 0)?))
}

/// `n / d` rounded toward zero.
pub(crate) fn div_trunc(n: i128, d: i128) -> EngineResult<i128> {
    div_rem(n, d).map(|(q, _)| q)
}

/// `n / d` rounded toward negative infinity.
pub(crate) fn div_floor(n: i128, d: i128) -> EngineResult<i128> {
    let (q, r) = div_rem(n, d)?;
    if r != 0 && ((r < 0) != (d < 0)) {
        q.checked_sub(1).ok_or(EngineError::MathOverflow)
    } else {
        Ok(q)
    }
}

/// `n / d` rounded toward positive infinity.
pub(crate) fn div_ceil(n: i128, d: i128) -> EngineResult<i128> {
    let (q, r) = div_rem(n, d)?;
    if r != 0 && ((r < 0) == (d < 0)) {
        q.checked_add(1).ok_or(EngineError::MathOverflow)
    } else {
        Ok(q)
    }
}

pub(crate) fn mul(a: i128, b: i128) -> EngineResult<i128> {
    let magnitude = checked_mul_u128(a.unsigned_abs(), b.unsigned_abs());
    signed(
        magnitude.ok_or(EngineError::MathOverflow)?,
        (a < 0) != (b < 0),
    )
}

pub(crate) fn add(a: i128, b: i128) -> EngineResult<i128> {
    a.checked_add(b).ok_or(EngineError::MathOverflow)
}

pub(crate) fn sub(a: i128, b: i128) -> EngineResult<i128> {
    a.checked_sub(b).ok_or(EngineError::MathOverflow)
}

/// `10^exp` as an i128, for exponents that fit.
pub(crate) fn pow10(exp: u32) -> EngineResult<i128> {
    (0..exp).try_fold(1, |power, _| mul(power, 10))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Values of every width, so that each digit count of the division is reached.
    fn wide() -> impl Strategy<Value = u128> {
        (0u32..128, any::<u128>()).prop_map(|(bits, v)| v >> bits)
    }

    proptest! {
        #[test]
        fn wide_products_and_quotients_match_native_128_bit_arithmetic(
            a in any::<u64>(), b in any::<u64>(), n in wide(), d in wide(), x in wide(), y in wide(),
        ) {
            prop_assert_eq!(mul_wide_u64(a, b), a as u128 * b as u128);
            prop_assert_eq!(checked_mul_u128(x, y), x.checked_mul(y));
            if d != 0 {
                prop_assert_eq!(div_rem_u128(n, d), (n / d, n % d));
            }
        }

        #[test]
        fn wrapping_product_matches_native_128_bit_arithmetic(a in wide(), b in wide()) {
            prop_assert_eq!(wrapping_mul_u128(a, b), a.wrapping_mul(b));
        }

        #[test]
        fn signed_helpers_match_native_128_bit_arithmetic(
            n in wide(), d in wide(), negate_n in any::<bool>(), negate_d in any::<bool>(),
        ) {
            let sign = |v: u128, negate: bool| if negate { (v as i128).wrapping_neg() } else { v as i128 };
            let (n, d) = (sign(n, negate_n), sign(d, negate_d));
            prop_assert_eq!(mul(n, d).ok(), n.checked_mul(d));
            prop_assert_eq!(div_trunc(n, d).ok(), n.checked_div(d));
            if let (Some(q), Some(r)) = (n.checked_div(d), n.checked_rem(d)) {
                let floor = if r != 0 && (r < 0) != (d < 0) { q - 1 } else { q };
                let ceil = if r != 0 && (r < 0) == (d < 0) { q + 1 } else { q };
                prop_assert_eq!(div_floor(n, d), Ok(floor));
                prop_assert_eq!(div_ceil(n, d), Ok(ceil));
            }
        }
    }

    #[test]
    fn floor_and_ceil_round_in_opposite_directions_for_every_sign() {
        assert_eq!(div_floor(7, 2), Ok(3));
        assert_eq!(div_ceil(7, 2), Ok(4));
        assert_eq!(div_floor(-7, 2), Ok(-4));
        assert_eq!(div_ceil(-7, 2), Ok(-3));
        assert_eq!(div_floor(7, -2), Ok(-4));
        assert_eq!(div_ceil(7, -2), Ok(-3));
        assert_eq!(div_floor(-7, -2), Ok(3));
        assert_eq!(div_ceil(-7, -2), Ok(4));
        assert_eq!(div_floor(6, 3), Ok(2));
        assert_eq!(div_ceil(-6, 3), Ok(-2));
    }

    #[test]
    fn division_by_zero_and_overflow_are_errors_not_panics() {
        assert_eq!(div_floor(1, 0), Err(EngineError::MathOverflow));
        assert_eq!(div_ceil(i128::MIN, -1), Err(EngineError::MathOverflow));
        assert_eq!(mul(i128::MAX, 2), Err(EngineError::MathOverflow));
        assert_eq!(pow10(39), Err(EngineError::MathOverflow));
        assert_eq!(pow10(38), Ok(10i128.pow(38)));
    }
}
