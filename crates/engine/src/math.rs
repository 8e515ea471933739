//! Checked integer helpers with explicit rounding direction. Every failure is `MathOverflow`.

use crate::{EngineError, EngineResult};

/// `n / d` rounded toward negative infinity.
pub(crate) fn div_floor(n: i128, d: i128) -> EngineResult<i128> {
    let q = n.checked_div(d).ok_or(EngineError::MathOverflow)?;
    let r = n.checked_rem(d).ok_or(EngineError::MathOverflow)?;
    if r != 0 && ((r < 0) != (d < 0)) {
        q.checked_sub(1).ok_or(EngineError::MathOverflow)
    } else {
        Ok(q)
    }
}

/// `n / d` rounded toward positive infinity.
pub(crate) fn div_ceil(n: i128, d: i128) -> EngineResult<i128> {
    let q = n.checked_div(d).ok_or(EngineError::MathOverflow)?;
    let r = n.checked_rem(d).ok_or(EngineError::MathOverflow)?;
    if r != 0 && ((r < 0) == (d < 0)) {
        q.checked_add(1).ok_or(EngineError::MathOverflow)
    } else {
        Ok(q)
    }
}

pub(crate) fn mul(a: i128, b: i128) -> EngineResult<i128> {
    a.checked_mul(b).ok_or(EngineError::MathOverflow)
}

pub(crate) fn add(a: i128, b: i128) -> EngineResult<i128> {
    a.checked_add(b).ok_or(EngineError::MathOverflow)
}

pub(crate) fn sub(a: i128, b: i128) -> EngineResult<i128> {
    a.checked_sub(b).ok_or(EngineError::MathOverflow)
}

/// `10^exp` as an i128, for exponents that fit.
pub(crate) fn pow10(exp: u32) -> EngineResult<i128> {
    10i128.checked_pow(exp).ok_or(EngineError::MathOverflow)
}

#[cfg(test)]
mod tests {
    use super::*;

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
