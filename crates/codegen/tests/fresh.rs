//! The generated message types are what the generator makes from the schemas now: a changed
//! schema or generator without `cargo run -p chargeyard-codegen` fails here.

#[test]
fn generated_types_are_fresh() {
    for t in chargeyard_codegen::targets() {
        let want = chargeyard_codegen::format(
            &chargeyard_codegen::generate(&t).expect("the schemas generate"),
        )
        .expect("rustfmt");
        let path = chargeyard_codegen::output_path(&t);
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "{} is stale: run `cargo run -p chargeyard-codegen`",
            path.display()
        );
    }
}
