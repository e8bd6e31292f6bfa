//! Generates `chargeyard-ocpp`'s message types for OCPP 2.0.1 and 2.1 from the official OCA JSON
//! schemas (`crates/ocpp/schemas/v201`, `v21`), with the same lenient field types as the
//! hand-written 1.6 module:
//!
//! - a string with `maxLength` N is a `CiString<N>` (longer ones are kept and noted as a quirk);
//!   one without is a `String` that also takes a number; `format: date-time` is a `Timestamp`;
//! - integers, numbers and booleans take their string forms too (noted as quirks);
//! - every enumeration is open: a value the schema does not list is kept as sent
//!   (`NotInSpec(raw)`) and noted, never sent by us;
//! - `customData` is kept, with whatever vendor fields it carries.
//!
//! Type names are the schemas' own (`javaType`); messages are `<Action>Request` and
//! `<Action>Response`. Beside the types it writes the version's `Action` enum, the [`Request`]
//! pairing of each request with its response, and the decoded CALLs of each direction
//! (`StationCall`, `CsmsCall`). Which side sends each action is not in the schemas: the tables
//! below are from Part 2 of each specification.
//!
//! Layout: this file (the generator); `main.rs` writes the files; `tests/fresh.rs` fails when the
//! committed files differ from what the generator makes now.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;

use serde_json::Value;

/// A protocol version to generate.
pub struct Target {
    /// The schemas' folder under `crates/ocpp/schemas`, and the module name.
    pub module: &'static str,
    /// "2.0.1", for the docs.
    pub name: &'static str,
    /// The `chargeyard_ocpp::Version` variant.
    pub version: &'static str,
    /// Actions the charging station initiates (CALLs it sends to the central system).
    pub from_station: &'static [&'static str],
    /// Actions either side may initiate.
    pub both: &'static [&'static str],
}

const FROM_STATION_201: &[&str] = &[
    "Authorize",
    "BootNotification",
    "ClearedChargingLimit",
    "FirmwareStatusNotification",
    "Get15118EVCertificate",
    "GetCertificateStatus",
    "Heartbeat",
    "LogStatusNotification",
    "MeterValues",
    "NotifyChargingLimit",
    "NotifyCustomerInformation",
    "NotifyDisplayMessages",
    "NotifyEVChargingNeeds",
    "NotifyEVChargingSchedule",
    "NotifyEvent",
    "NotifyMonitoringReport",
    "NotifyReport",
    "PublishFirmwareStatusNotification",
    "ReportChargingProfiles",
    "ReservationStatusUpdate",
    "SecurityEventNotification",
    "SignCertificate",
    "StatusNotification",
    "TransactionEvent",
];

const FROM_STATION_21_ADDED: &[&str] = &[
    "BatterySwap",
    "ClosePeriodicEventStream",
    "GetCertificateChainStatus",
    "NotifyDERAlarm",
    "NotifyDERStartStop",
    "NotifyPeriodicEventStream",
    "NotifyPriorityCharging",
    "NotifySettlement",
    "OpenPeriodicEventStream",
    "PullDynamicScheduleUpdate",
    "ReportDERControl",
    "VatNumberValidation",
];

/// The versions generated, with their direction tables.
pub fn targets() -> Vec<Target> {
    let from_station_21: &'static [&'static str] = Box::leak(
        FROM_STATION_201
            .iter()
            .chain(FROM_STATION_21_ADDED)
            .copied()
            .collect::<Vec<_>>()
            .into_boxed_slice(),
    );
    vec![
        Target {
            module: "v201",
            name: "2.0.1",
            version: "V201",
            from_station: FROM_STATION_201,
            both: &["DataTransfer"],
        },
        Target {
            module: "v21",
            name: "2.1",
            version: "V21",
            from_station: from_station_21,
            both: &["DataTransfer"],
        },
    ]
}

/// `crates/ocpp`, beside the crate cargo runs this from (read when run, so a build shared
/// between clones of the repository reads the schemas of the clone being tested), else beside
/// this crate's sources.
pub fn ocpp_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .join("../ocpp")
}

/// Where a target's generated file goes.
pub fn output_path(t: &Target) -> PathBuf {
    ocpp_dir().join("src").join(t.module).join("generated.rs")
}

/// The generated Rust source for `t`, from its schema folder.
pub fn generate(t: &Target) -> Result<String, String> {
    let dir = ocpp_dir().join("schemas").join(t.module);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut g = Gen::default();
    for path in &files {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let schema: Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or("a schema file name")?
            .to_string();
        g.schema(&stem, &schema)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    g.render(t)
}

/// A Rust type being generated.
enum Item {
    Enum {
        doc: String,
        values: Vec<String>,
    },
    Struct {
        doc: String,
        fields: Vec<Field>,
        /// Extra properties are kept (`customData`).
        open: bool,
    },
}

struct Field {
    wire: String,
    doc: String,
    ty: Ty,
    required: bool,
}

#[derive(Clone, PartialEq)]
enum Ty {
    Named(String),
    Str(Option<u64>),
    Time,
    Int,
    Num,
    Bool,
    Any,
    List(Box<Ty>),
}

#[derive(Default)]
struct Gen {
    /// Data types by Rust name, with the JSON they came from (to check duplicates agree).
    types: BTreeMap<String, (Item, String)>,
    /// Messages by name ("AuthorizeRequest").
    messages: BTreeMap<String, Item>,
    /// Each message's schema, for its template.
    schemas: BTreeMap<String, Value>,
}

/// An instance of schema node `s` of `root`: every property (`all`) or only the required ones,
/// `n` items of a list that needs at least `n` (one otherwise), and each other value (an
/// enumeration, a string, a number, …) as `leaf` makes it from its node.
pub fn instance(root: &Value, s: &Value, all: bool, leaf: &dyn Fn(&Value) -> Value) -> Value {
    if let Some(r) = text(s, "$ref") {
        let name = r.trim_start_matches("#/definitions/");
        return instance(root, &root["definitions"][name], all, leaf);
    }
    match text(s, "type") {
        Some("object") if s.get("enum").is_none() => {
            let required: Vec<&str> = s
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let mut out = serde_json::Map::new();
            if let Some(props) = s.get("properties").and_then(Value::as_object) {
                for (name, p) in props {
                    if all || required.contains(&name.as_str()) {
                        out.insert(name.clone(), instance(root, p, all, leaf));
                    }
                }
            }
            Value::Object(out)
        }
        Some("array") => {
            let n = s
                .get("minItems")
                .and_then(Value::as_u64)
                .unwrap_or(1)
                .max(1);
            Value::Array(
                (0..n)
                    .map(|_| instance(root, &s["items"], all, leaf))
                    .collect(),
            )
        }
        _ => leaf(s),
    }
}

/// The smallest valid instance of schema node `s` of `root`: the required fields only, the
/// first value of each enumeration, empty strings, zero (or the minimum), one item of a list.
fn minimal(root: &Value, s: &Value) -> Value {
    instance(root, s, false, &|s| {
        if let Some(first) = s
            .get("enum")
            .and_then(Value::as_array)
            .and_then(|e| e.first())
        {
            return first.clone();
        }
        match text(s, "type") {
            Some("string") if text(s, "format") == Some("date-time") => {
                Value::String("2026-01-01T00:00:00.000Z".into())
            }
            Some("string") => Value::String(String::new()),
            Some("integer") => Value::from(s.get("minimum").and_then(Value::as_i64).unwrap_or(0)),
            Some("number") => Value::from(s.get("minimum").and_then(Value::as_f64).unwrap_or(0.0)),
            Some("boolean") => Value::Bool(false),
            _ => Value::Object(Default::default()),
        }
    })
}

/// A definition's JSON without its prose, for comparing two copies of it.
fn shape(v: &Value) -> String {
    fn strip(v: &Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter()
                    .filter(|(k, _)| !matches!(k.as_str(), "description" | "comment" | "$id"))
                    .map(|(k, v)| (k.clone(), strip(v)))
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(strip).collect()),
            v => v.clone(),
        }
    }
    strip(v).to_string()
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

impl Gen {
    fn schema(&mut self, stem: &str, schema: &Value) -> Result<(), String> {
        let defs = schema
            .get("definitions")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let names: BTreeMap<String, String> = defs
            .iter()
            .map(|(k, d)| {
                let name = text(d, "javaType").unwrap_or(k).to_string();
                (format!("#/definitions/{k}"), name)
            })
            .collect();
        for d in defs.values() {
            let name = text(d, "javaType").ok_or("a definition without javaType")?;
            let item = self.item(d, &names)?;
            let sig = shape(d);
            match self.types.get(name) {
                Some((_, other)) if *other != sig => {
                    return Err(format!("{name} is defined two ways"));
                }
                Some(_) => {}
                None => {
                    self.types.insert(name.to_string(), (item, sig));
                }
            }
        }
        let root = self.item(schema, &names)?;
        self.messages.insert(stem.to_string(), root);
        self.schemas.insert(stem.to_string(), schema.clone());
        Ok(())
    }

    fn item(&self, d: &Value, names: &BTreeMap<String, String>) -> Result<Item, String> {
        let doc = text(d, "description").unwrap_or_default().to_string();
        if let Some(values) = d.get("enum").and_then(Value::as_array) {
            let values = values
                .iter()
                .map(|v| v.as_str().map(str::to_string).ok_or("an enum value"))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(Item::Enum { doc, values });
        }
        if text(d, "type") != Some("object") {
            return Err(format!("a definition of type {:?}", d.get("type")));
        }
        let required: BTreeSet<&str> = d
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut fields = Vec::new();
        if let Some(props) = d.get("properties").and_then(Value::as_object) {
            for (wire, p) in props {
                fields.push(Field {
                    wire: wire.clone(),
                    doc: text(p, "description").unwrap_or_default().to_string(),
                    ty: ty(p, names)?,
                    required: required.contains(wire.as_str()),
                });
            }
        }
        let open = d.get("additionalProperties") != Some(&Value::Bool(false))
            && text(d, "javaType") == Some("CustomData");
        Ok(Item::Struct { doc, fields, open })
    }

    fn render(&self, t: &Target) -> Result<String, String> {
        let mut out = String::new();
        let w = &mut out;
        let _ = writeln!(
            w,
            "//! OCPP {} message types, generated by `chargeyard-codegen` (crates/codegen) from the official\n\
             //! OCA JSON schemas in `crates/ocpp/schemas/{}`. Do not edit: change the generator and run\n\
             //! `cargo run -p chargeyard-codegen` (a test fails when this file is stale).\n",
            t.name, t.module
        );
        w.push_str(
            "#![allow(clippy::upper_case_acronyms, clippy::large_enum_variant, clippy::doc_lazy_continuation)]\n\n\
             use serde::{Deserialize, Serialize};\n\n\
             #[allow(unused_imports)]\n\
             use crate::lenient::{CiString, Timestamp, boolean, dec, int, opt_boolean, opt_dec, opt_int, opt_string, string};\n\n\
             /// What an action this version does not take in a direction is answered with.\n\
             use super::unhandled;\n\n",
        );
        for (name, (item, _)) in &self.types {
            render_item(w, name, item)?;
        }
        for (name, item) in &self.messages {
            render_item(w, name, item)?;
        }
        self.render_actions(w, t)?;
        Ok(out)
    }

    fn render_actions(&self, w: &mut String, t: &Target) -> Result<(), String> {
        // Actions: requests with a response; a request alone is a SEND (2.1).
        let mut actions = Vec::new();
        let mut sends = Vec::new();
        for name in self.messages.keys() {
            if let Some(action) = name.strip_suffix("Request") {
                if self.messages.contains_key(&format!("{action}Response")) {
                    actions.push(action.to_string());
                } else {
                    return Err(format!("{name} has no response"));
                }
            } else if !name.ends_with("Response") {
                sends.push(name.clone());
            }
        }
        let direction = |a: &str| {
            if t.both.contains(&a) {
                "Both"
            } else if t.from_station.contains(&a) {
                "FromStation"
            } else {
                "ToStation"
            }
        };
        for a in t.from_station.iter().chain(t.both) {
            if !actions.iter().any(|x| x == a) && !sends.iter().any(|x| x == a) {
                return Err(format!("{a} is in the direction table but has no schema"));
            }
        }
        let _ = writeln!(
            w,
            "/// Every action of OCPP {} with a request and a response.",
            t.name
        );
        w.push_str(
            "#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]\npub enum Action {\n",
        );
        for a in &actions {
            let _ = writeln!(w, "    {a},");
        }
        w.push_str("}\n\nimpl Action {\n    pub const ALL: &'static [Action] = &[\n");
        for a in &actions {
            let _ = writeln!(w, "        Action::{a},");
        }
        w.push_str("    ];\n\n    pub fn as_str(self) -> &'static str {\n        match self {\n");
        for a in &actions {
            let _ = writeln!(w, "            Action::{a} => \"{a}\",");
        }
        w.push_str("        }\n    }\n\n    pub fn parse(s: &str) -> Option<Action> {\n        match s {\n");
        for a in &actions {
            let _ = writeln!(w, "            \"{a}\" => Some(Action::{a}),");
        }
        w.push_str("            _ => None,\n        }\n    }\n\n    /// Who sends the CALL.\n    pub fn direction(self) -> crate::Direction {\n        match self {\n");
        for a in &actions {
            let _ = writeln!(
                w,
                "            Action::{a} => crate::Direction::{},",
                direction(a)
            );
        }
        w.push_str("        }\n    }\n}\n\n");
        w.push_str(
            "/// Decode the answer to a CALL of `action` leniently and return it normalised (as our\n\
             /// types serialise it), with the quirks met.\n\
             pub fn decode_response_value(\n    action: Action,\n    payload: serde_json::Value,\n) -> Result<crate::Decoded<serde_json::Value>, crate::CallError> {\n    match action {\n",
        );
        for a in &actions {
            let _ = writeln!(
                w,
                "        Action::{a} => crate::decode::normalised::<{a}Response>(payload),"
            );
        }
        w.push_str("    }\n}\n\n");
        for a in &actions {
            let _ = writeln!(
                w,
                "impl crate::Request for {a}Request {{\n    const VERSION: crate::Version = crate::Version::{};\n    const ACTION: &'static str = \"{a}\";\n    type Response = {a}Response;\n}}\n",
                t.version
            );
        }
        let mut from_station: Vec<&String> = actions
            .iter()
            .filter(|a| direction(a) != "ToStation")
            .collect();
        from_station.sort();
        let to_station: Vec<&String> = actions
            .iter()
            .filter(|a| direction(a) != "FromStation")
            .collect();
        w.push_str(
            "/// A valid example payload of each command the central system sends (its required\n\
             /// fields only), for the technician's composer.\n\
             pub fn template(action: Action) -> Option<serde_json::Value> {\n    let text = match action {\n",
        );
        for a in &to_station {
            let schema = &self.schemas[&format!("{a}Request")];
            let _ = writeln!(
                w,
                "        Action::{a} => r#\"{}\"#,",
                minimal(schema, schema)
            );
        }
        w.push_str("        _ => return None,\n    };\n    serde_json::from_str(text).ok()\n}\n\n");
        w.push_str("crate::call_enum!(\n    /// A CALL a charging station sends to the central system.\n    StationCall {\n");
        for a in &from_station {
            let _ = writeln!(w, "        {a}({a}Request),");
        }
        w.push_str("    }\n);\n\ncrate::call_enum!(\n    /// A CALL the central system sends to a charging station (a command).\n    CsmsCall {\n");
        for a in &to_station {
            let _ = writeln!(w, "        {a}({a}Request),");
        }
        w.push_str("    }\n);\n");
        Ok(())
    }
}

fn ty(p: &Value, names: &BTreeMap<String, String>) -> Result<Ty, String> {
    if let Some(r) = text(p, "$ref") {
        return names
            .get(r)
            .map(|n| Ty::Named(n.clone()))
            .ok_or_else(|| format!("unknown $ref {r}"));
    }
    Ok(match text(p, "type") {
        Some("string") if text(p, "format") == Some("date-time") => Ty::Time,
        Some("string") if p.get("enum").is_some() => {
            return Err("an enumeration inside a property".into());
        }
        Some("string") => Ty::Str(p.get("maxLength").and_then(Value::as_u64)),
        Some("integer") => Ty::Int,
        Some("number") => Ty::Num,
        Some("boolean") => Ty::Bool,
        Some("array") => {
            let items = p.get("items").ok_or("an array without items")?;
            Ty::List(Box::new(ty(items, names)?))
        }
        // No type at all: any JSON value (DataTransfer's `data`).
        Some("object") | None if p.get("properties").is_none() => Ty::Any,
        other => return Err(format!("a property of type {other:?}")),
    })
}

/// `idTokenInfo` → `id_token_info`; `EVSE` → `evse`; `type` → `kind`.
pub fn snake(wire: &str) -> String {
    let chars: Vec<char> = wire.chars().collect();
    let mut out = String::new();
    for (i, c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next_lower)
            {
                out.push('_');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    match out.as_str() {
        "type" => "kind".into(),
        "ref" | "use" | "mod" | "match" | "fn" | "impl" | "struct" | "enum" | "loop" | "move"
        | "self" | "super" | "where" | "async" | "await" | "dyn" => format!("r#{out}"),
        _ => out,
    }
}

/// `L1-N` → `L1N`, `Energy.Active.Import.Register` → `EnergyActiveImportRegister`, `eMAID` →
/// `EMAID`.
pub fn variant(wire: &str) -> String {
    let mut out = String::new();
    for part in wire.split(|c: char| !c.is_ascii_alphanumeric()) {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars);
        }
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'V');
    }
    out
}

/// A description as doc comment lines (the schemas use `\r\n` and HTML entities).
fn doc(w: &mut String, indent: &str, text: &str) {
    let text = text
        .replace("\r\n", "\n")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim_end)
        .skip_while(|l| l.is_empty())
        .collect();
    let mut blank = false;
    for line in lines {
        if line.is_empty() {
            blank = true;
            continue;
        }
        if blank {
            let _ = writeln!(w, "{indent}///");
            blank = false;
        }
        // Square brackets and angle brackets are prose here, not links or HTML.
        let line = line
            .replace('[', "\\[")
            .replace(']', "\\]")
            .replace('<', "\\<");
        let _ = writeln!(w, "{indent}/// {line}");
    }
}

fn rust_ty(t: &Ty) -> String {
    match t {
        Ty::Named(n) => n.clone(),
        Ty::Str(Some(n)) => format!("CiString<{n}>"),
        Ty::Str(None) => "String".into(),
        Ty::Time => "Timestamp".into(),
        Ty::Int => "i64".into(),
        Ty::Num => "f64".into(),
        Ty::Bool => "bool".into(),
        Ty::Any => "serde_json::Value".into(),
        Ty::List(inner) => format!("Vec<{}>", rust_ty(inner)),
    }
}

/// The lenient deserialiser of a field, if its type needs one.
fn with(t: &Ty, required: bool) -> Option<&'static str> {
    Some(match (t, required) {
        (Ty::Str(None), true) => "string",
        (Ty::Str(None), false) => "opt_string",
        (Ty::Int, true) => "int",
        (Ty::Int, false) => "opt_int",
        (Ty::Num, true) => "dec",
        (Ty::Num, false) => "opt_dec",
        (Ty::Bool, true) => "boolean",
        (Ty::Bool, false) => "opt_boolean",
        _ => return None,
    })
}

fn render_item(w: &mut String, name: &str, item: &Item) -> Result<(), String> {
    match item {
        Item::Enum { doc: d, values } => {
            let mut seen = BTreeSet::new();
            w.push_str("crate::ocpp_enum!(\n");
            doc(w, "    ", d);
            let _ = writeln!(w, "    open {name} {{");
            for v in values {
                let var = variant(v);
                if !seen.insert(var.clone()) || var == "NotInSpec" {
                    return Err(format!("{name}: two values make variant {var}"));
                }
                let _ = writeln!(w, "        {var} = {v:?},");
            }
            w.push_str("    }\n);\n\n");
        }
        Item::Struct {
            doc: d,
            fields,
            open,
        } => {
            doc(w, "", d);
            // With nothing required it is also its own default.
            let default = if fields.iter().any(|f| f.required) {
                ""
            } else {
                ", Default"
            };
            let _ = writeln!(
                w,
                "#[serde_with::skip_serializing_none]\n#[derive(Debug, Clone, PartialEq, Serialize, Deserialize{default})]"
            );
            let _ = writeln!(w, "pub struct {name} {{");
            let mut seen = BTreeSet::new();
            for f in fields {
                let field = snake(&f.wire);
                if !seen.insert(field.clone()) {
                    return Err(format!("{name}: two fields make {field}"));
                }
                doc(w, "    ", &f.doc);
                let mut attrs = vec![format!("rename = {:?}", f.wire)];
                match with(&f.ty, f.required) {
                    Some(de) if f.required => attrs.push(format!("deserialize_with = {de:?}")),
                    Some(de) => {
                        attrs.push("default".into());
                        attrs.push(format!("deserialize_with = {de:?}"));
                    }
                    None => {}
                }
                let _ = writeln!(w, "    #[serde({})]", attrs.join(", "));
                let t = rust_ty(&f.ty);
                let t = if f.required {
                    t
                } else {
                    format!("Option<{t}>")
                };
                let _ = writeln!(w, "    pub {field}: {t},");
            }
            if *open {
                w.push_str("    /// Vendor fields beside `vendorId`, kept as sent.\n    #[serde(flatten)]\n    pub extra: serde_json::Map<String, serde_json::Value>,\n");
            }
            w.push_str("}\n\n");
            // A constructor from the required fields, the optional ones left out.
            let required: Vec<&Field> = fields.iter().filter(|f| f.required).collect();
            if required.is_empty() {
                return Ok(());
            }
            let params: Vec<String> = required
                .iter()
                .map(|f| format!("{}: {}", snake(&f.wire), rust_ty(&f.ty)))
                .collect();
            let _ = writeln!(w, "impl {name} {{");
            let _ = writeln!(
                w,
                "    /// With the required fields; the optional ones omitted.\n    #[allow(clippy::too_many_arguments)]\n    pub fn new({}) -> Self {{\n        Self {{",
                params.join(", ")
            );
            for f in fields {
                let field = snake(&f.wire);
                if f.required {
                    let _ = writeln!(w, "            {field},");
                } else {
                    let _ = writeln!(w, "            {field}: None,");
                }
            }
            if *open {
                w.push_str("            extra: serde_json::Map::new(),\n");
            }
            w.push_str("        }\n    }\n}\n\n");
        }
    }
    Ok(())
}

/// Format generated code the way `cargo fmt` does (rustfmt, edition 2024), so the committed file
/// passes the formatting check as generated.
pub fn format(code: &str) -> Result<String, String> {
    use std::io::Write as _;
    let mut child = std::process::Command::new("rustfmt")
        .args(["--edition", "2024", "--emit", "stdout"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("rustfmt: {e}"))?;
    child
        .stdin
        .take()
        .ok_or("rustfmt's stdin")?
        .write_all(code.as_bytes())
        .map_err(|e| format!("rustfmt: {e}"))?;
    let out = child
        .wait_with_output()
        .map_err(|e| format!("rustfmt: {e}"))?;
    if !out.status.success() {
        return Err(format!("rustfmt: {}", String::from_utf8_lossy(&out.stderr)));
    }
    String::from_utf8(out.stdout).map_err(|e| format!("rustfmt: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_rust_conventions() {
        assert_eq!(snake("idTokenInfo"), "id_token_info");
        assert_eq!(snake("evseId"), "evse_id");
        assert_eq!(snake("type"), "kind");
        assert_eq!(snake("iso15118SchemaVersion"), "iso15118_schema_version");
        assert_eq!(snake("EVSE"), "evse");
        assert_eq!(snake("maxScheduleTuples"), "max_schedule_tuples");
        assert_eq!(variant("L1-N"), "L1N");
        assert_eq!(
            variant("Energy.Active.Import.Register"),
            "EnergyActiveImportRegister"
        );
        assert_eq!(variant("eMAID"), "EMAID");
    }
}
