//! What the benchmarks share: a depot in Stockholm with one default tariff, and SQL run in one
//! write to generate data fast.

use chargeyard_core::Engine;
use chargeyard_core::billing::{AssignmentInput, TariffInput};

pub type Fallible<T> = Result<T, Box<dyn std::error::Error>>;

/// Set the depot's time zone to Europe/Stockholm and make `tariff` its default; returns the
/// tariff version sessions are priced with.
pub async fn depot(engine: &Engine, name: &str, tariff: serde_json::Value) -> Fallible<i64> {
    let mut settings = engine.settings();
    settings.time_zone = Some("Europe/Stockholm".into());
    engine.update_settings(settings).await?;
    let view = engine
        .create_tariff(TariffInput {
            name: name.into(),
            tariff: serde_json::from_value(tariff)?,
        })
        .await?;
    engine
        .assign_tariff(AssignmentInput {
            scope: "default".into(),
            target: String::new(),
            tariff_id: Some(view.id),
        })
        .await?;
    Ok(view.version_id)
}

/// Run one generating statement with integer parameters ?1, ?2, … in one write (rows for the
/// message log and meter samples go into their logs, which the write then indexes with a fold).
pub async fn sql(engine: &Engine, statement: &'static str, binds: Vec<i64>) -> Fallible<()> {
    engine
        .store()
        .writer
        .write(move |c| {
            Box::pin(async move {
                let mut q = sqlx::query(statement);
                for b in binds {
                    q = q.bind(b);
                }
                q.execute(&mut *c).await?;
                // Generated rows go through the inboxes like live ones; index them now.
                chargeyard_store::logs::fold(c).await?;
                Ok(())
            })
        })
        .await?;
    Ok(())
}
