//! Chargeyard's billing: tariffs (prices, fees, VAT, limits, time-of-use windows in the depot's
//! time zone) and the one cost engine that prices a session from what it used. Money is integer
//! throughout: prices in ten-thousandths of the major unit, costs in minor units.

pub mod amount;
pub mod cost;
pub mod csv;
pub mod invoice;
pub mod tariff;

pub use amount::{Price, PriceError, currency_decimals};
pub use cost::{Cost, CostPart, Usage, energy_by_hour, price, price_parts};
pub use tariff::{PriceChanges, Prices, Tariff, TariffError, TimeWindow};
