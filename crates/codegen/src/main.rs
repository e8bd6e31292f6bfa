//! `chargeyard-codegen`: write `crates/ocpp/src/v201/generated.rs` and `v21/generated.rs` from
//! the schemas in `crates/ocpp/schemas`, then format them with rustfmt.

fn main() -> Result<(), String> {
    for t in chargeyard_codegen::targets() {
        let code = chargeyard_codegen::generate(&t)?;
        let path = chargeyard_codegen::output_path(&t);
        std::fs::write(&path, chargeyard_codegen::format(&code)?)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
