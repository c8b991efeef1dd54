//! Whole numbers for `i64` fields of request bodies. JSON Schema counts `12.0` as an integer,
//! and so does the published document: `12.0` is accepted as 12, while `12.5` is still refused.

use serde::de::{Deserializer, Error, Visitor};
use serde::Deserialize;

/// One whole number, the value of a `#[serde(deserialize_with)]` newtype.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Whole(pub i64);

impl<'de> Deserialize<'de> for Whole {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Whole;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an integer")
            }
            fn visit_i64<E: Error>(self, v: i64) -> Result<Whole, E> {
                Ok(Whole(v))
            }
            fn visit_u64<E: Error>(self, v: u64) -> Result<Whole, E> {
                i64::try_from(v)
                    .map(Whole)
                    .map_err(|_| E::custom(format!("{v} is too large for an integer")))
            }
            fn visit_f64<E: Error>(self, v: f64) -> Result<Whole, E> {
                // i64::MAX is not exactly representable: the bound is 2^63, exclusive.
                const LIMIT: f64 = 9_223_372_036_854_775_808.0;
                if v.fract() == 0.0 && (-LIMIT..LIMIT).contains(&v) {
                    Ok(Whole(v as i64))
                } else {
                    Err(E::custom(format!("invalid type: {v}, expected an integer")))
                }
            }
        }
        de.deserialize_any(V)
    }
}

pub fn i64<'de, D: Deserializer<'de>>(de: D) -> Result<i64, D::Error> {
    Whole::deserialize(de).map(|w| w.0)
}

pub fn option<'de, D: Deserializer<'de>>(de: D) -> Result<Option<i64>, D::Error> {
    Option::<Whole>::deserialize(de).map(|o| o.map(|w| w.0))
}

pub fn vec<'de, D: Deserializer<'de>>(de: D) -> Result<Vec<i64>, D::Error> {
    Vec::<Whole>::deserialize(de).map(|v| v.into_iter().map(|w| w.0).collect())
}
