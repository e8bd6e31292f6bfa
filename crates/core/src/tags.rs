//! ID tags (2.x: tokens): what the operator manages (status, expiry, group, CSV import), and
//! what a token a station presents is answered with, in terms of no one version.

use chargeyard_store::id_tags::{self, TagFields, TagFilter};
use chargeyard_store::model::{IdTag, Page};
use chrono::{DateTime, Utc};
use serde::Serialize;
use ts_rs::TS;

use crate::engine::Engine;
use crate::error::{Error, Result, or_duplicate, or_missing};

/// A token a station presents: a 1.6 idTag, or a 2.x IdToken with its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub id: String,
    /// 2.x IdTokenEnumType (ISO14443, Central, KeyCode, …).
    pub kind: Option<String>,
}

impl Token {
    pub(crate) fn tag(id: impl Into<String>) -> Token {
        Token {
            id: id.into(),
            kind: None,
        }
    }
}

/// What a token is answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenStatus {
    Accepted,
    Blocked,
    Expired,
    /// Known here, and not to be used (a tag with status Invalid).
    Invalid,
    /// Not known here (1.6 says Invalid, 2.x Unknown).
    Unknown,
}

impl TokenStatus {
    /// As stored with a transaction ("Accepted", "Blocked", …; 1.6's word for unknown).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            TokenStatus::Accepted => "Accepted",
            TokenStatus::Blocked => "Blocked",
            TokenStatus::Expired => "Expired",
            TokenStatus::Invalid | TokenStatus::Unknown => "Invalid",
        }
    }
}

impl std::fmt::Display for TokenStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TokenStatus::Unknown => "unknown",
            s => s.as_str(),
        })
    }
}

/// A token's answer: its status, until when, and its group (1.6 parentIdTag, 2.x groupIdToken).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenInfo {
    pub status: TokenStatus,
    pub expiry: Option<DateTime<Utc>>,
    pub group: Option<String>,
}

/// What a tag import did.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ImportReport {
    pub created: u64,
    pub updated: u64,
}

/// What importing a CSV file would do, line by line, before anything is written.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ImportPreview {
    pub lines: Vec<PreviewLine>,
    /// Tags it would add and change; lines with a problem count in neither.
    pub create: u64,
    pub update: u64,
    /// Lines with a problem: while there is one, the import writes nothing.
    pub problems: u64,
}

/// One line of a CSV import as it would be taken.
#[derive(Debug, Clone, Serialize, TS)]
pub struct PreviewLine {
    /// The line in the file (the header is line 1).
    pub line: u64,
    /// The tag it names, when it names one.
    pub id_tag: Option<String>,
    /// The fields as they would be stored (None when the line could not be read).
    pub fields: Option<TagFields>,
    /// "create" or "update" (a tag of that id exists), or None with a problem.
    pub action: Option<String>,
    /// What is wrong with the line; the import refuses the file while any line has one.
    pub problem: Option<String>,
}

const TAG_STATUSES: &[&str] = &["Accepted", "Blocked", "Expired", "Invalid"];
const TAG_GROUPS: &[&str] = &["driver", "vehicle", "customer"];
/// The 2.x IdTokenEnumType values a tag can be limited to.
const TOKEN_TYPES: &[&str] = &[
    "Central",
    "eMAID",
    "ISO14443",
    "ISO15693",
    "KeyCode",
    "Local",
    "MacAddress",
    "NoAuthorization",
];

/// A CSV line of tags: its fields, or what is wrong with it.
#[derive(Debug)]
pub struct CsvTag {
    /// Counted from 1, the header being line 1.
    pub line: u64,
    pub id_tag: Option<String>,
    pub read: std::result::Result<TagFields, String>,
}

/// Read tag lines from CSV, each with its line number and its own problem; a header that cannot
/// be used fails the whole file. Nothing is looked up: [`Engine::preview_id_tags`] adds what
/// importing would do.
pub fn parse_tag_csv(text: &str) -> Result<Vec<CsvTag>> {
    let text = text.trim_start_matches('\u{feff}');
    let first = text.lines().next().unwrap_or_default();
    let delimiter = if first.matches(';').count() > first.matches(',').count() {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| Error::Invalid(format!("CSV header: {e}")))?
        .iter()
        .map(|h| h.to_ascii_lowercase().replace([' ', '-'], "_"))
        .collect();
    const KNOWN: &[&str] = &[
        "id_tag",
        "status",
        "expiry",
        "parent_id_tag",
        "group_kind",
        "group_name",
        "note",
        "token_type",
    ];
    if let Some(unknown) = header.iter().find(|h| !KNOWN.contains(&h.as_str())) {
        return Err(Error::Invalid(format!(
            "line 1: unknown column {unknown:?}; columns are {}",
            KNOWN.join(", ")
        )));
    }
    if !header.iter().any(|h| h == "id_tag") {
        return Err(Error::Invalid(
            "line 1: the header needs an id_tag column".into(),
        ));
    }
    let mut lines = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                lines.push(CsvTag {
                    line,
                    id_tag: None,
                    read: Err(e.to_string()),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let get = |name: &str| {
            header
                .iter()
                .position(|h| h == name)
                .and_then(|i| record.get(i))
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let Some(tag) = get("id_tag") else {
            if record.iter().all(str::is_empty) {
                continue; // blank line
            }
            lines.push(CsvTag {
                line,
                id_tag: None,
                read: Err("id_tag is empty".into()),
            });
            continue;
        };
        let read = get("expiry")
            .map(|e| parse_expiry(&e))
            .transpose()
            .and_then(|expiry| {
                let fields = TagFields {
                    status: get("status").unwrap_or_else(|| "Accepted".into()),
                    expiry,
                    parent_id_tag: get("parent_id_tag"),
                    group_kind: get("group_kind").map(|g| g.to_ascii_lowercase()),
                    group_name: get("group_name"),
                    note: get("note"),
                    token_type: get("token_type"),
                };
                check_tag(&tag, &fields).map_err(|e| match e {
                    Error::Invalid(m) => m,
                    other => other.to_string(),
                })?;
                if seen.insert(tag.clone()) {
                    Ok(fields)
                } else {
                    Err(format!("{tag} appears more than once"))
                }
            });
        lines.push(CsvTag {
            line,
            id_tag: Some(tag),
            read,
        });
    }
    if lines.is_empty() {
        return Err(Error::Invalid("the file has no tag rows".into()));
    }
    Ok(lines)
}

/// An expiry as RFC 3339, or a date (the tag expires at the end of that day, UTC).
fn parse_expiry(s: &str) -> std::result::Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(23, 59, 59))
        .map(|t| t.and_utc())
        .ok_or_else(|| format!("expiry {s:?} is not a date (2027-01-31) or an RFC 3339 time"))
}

/// A tag's fields as they may be stored.
fn check_tag(id_tag: &str, f: &TagFields) -> Result<()> {
    if id_tag.trim().is_empty() || id_tag.chars().count() > 20 {
        return Err(Error::Invalid(format!(
            "id tag {id_tag:?} must be 1 to 20 characters"
        )));
    }
    if !TAG_STATUSES.contains(&f.status.as_str()) {
        return Err(Error::Invalid(format!(
            "status {:?} must be one of {}",
            f.status,
            TAG_STATUSES.join(", ")
        )));
    }
    if let Some(p) = &f.parent_id_tag
        && p.chars().count() > 20
    {
        return Err(Error::Invalid(
            "parent id tag must be at most 20 characters".into(),
        ));
    }
    if let Some(g) = &f.group_kind
        && !TAG_GROUPS.contains(&g.as_str())
    {
        return Err(Error::Invalid(format!(
            "group kind must be one of {}",
            TAG_GROUPS.join(", ")
        )));
    }
    if let Some(t) = &f.token_type
        && !TOKEN_TYPES.contains(&t.as_str())
    {
        return Err(Error::Invalid(format!(
            "token type must be one of {}",
            TOKEN_TYPES.join(", ")
        )));
    }
    Ok(())
}

impl Engine {
    /// Tags by name, filtered and paged.
    pub async fn id_tags(&self, filter: &TagFilter) -> Result<Page<IdTag>> {
        Ok(id_tags::list(&self.inner.store.reader, filter).await?)
    }

    /// Every tag group with its number of tags.
    pub async fn tag_groups(&self) -> Result<Vec<id_tags::TagGroup>> {
        Ok(id_tags::groups(&self.inner.store.reader).await?)
    }

    pub async fn id_tag(&self, id_tag: &str) -> Result<IdTag> {
        id_tags::get(&self.inner.store.reader, id_tag)
            .await?
            .ok_or_else(|| Error::NotFound(format!("id tag {id_tag}")))
    }

    /// A parent (group) tag must be one we know (or one coming in the same import), and not
    /// the tag itself.
    async fn check_parent(
        &self,
        id_tag: &str,
        f: &TagFields,
        coming: &std::collections::HashSet<&str>,
    ) -> std::result::Result<(), String> {
        let Some(parent) = f.parent_id_tag.as_deref() else {
            return Ok(());
        };
        if parent == id_tag {
            return Err(format!("{id_tag} cannot be its own parent"));
        }
        let known = coming.contains(parent)
            || id_tags::get(&self.inner.store.reader, parent)
                .await
                .map_err(|e| e.to_string())?
                .is_some();
        if known {
            Ok(())
        } else {
            Err(format!(
                "parent id tag {parent:?} is not a known tag; add it first"
            ))
        }
    }

    pub async fn create_id_tag(&self, id_tag: &str, fields: TagFields) -> Result<IdTag> {
        check_tag(id_tag, &fields)?;
        self.check_parent(id_tag, &fields, &Default::default())
            .await
            .map_err(Error::Invalid)?;
        let (t, now) = (id_tag.to_string(), self.now());
        self.inner
            .store
            .writer
            .write(move |c| Box::pin(async move { id_tags::create(c, &t, &fields, now).await }))
            .await
            .map_err(or_duplicate(Error::Conflict(format!("id tag {id_tag}"))))
    }

    pub async fn update_id_tag(&self, id_tag: &str, fields: TagFields) -> Result<IdTag> {
        check_tag(id_tag, &fields)?;
        self.check_parent(id_tag, &fields, &Default::default())
            .await
            .map_err(Error::Invalid)?;
        let (t, now) = (id_tag.to_string(), self.now());
        self.inner
            .store
            .writer
            .write(move |c| Box::pin(async move { id_tags::update(c, &t, &fields, now).await }))
            .await
            .map_err(or_missing(Error::NotFound(format!("id tag {id_tag}"))))
    }

    /// What importing tags from CSV text would do, line by line, with every problem (the
    /// format is [`Self::import_id_tags`]'s); nothing is written.
    pub async fn preview_id_tags(&self, csv_text: &str) -> Result<ImportPreview> {
        let lines = parse_tag_csv(csv_text)?;
        let coming: std::collections::HashSet<&str> = lines
            .iter()
            .filter(|l| l.read.is_ok())
            .filter_map(|l| l.id_tag.as_deref())
            .collect();
        let mut preview = ImportPreview {
            lines: Vec::with_capacity(lines.len()),
            create: 0,
            update: 0,
            problems: 0,
        };
        for l in &lines {
            let mut out = PreviewLine {
                line: l.line,
                id_tag: l.id_tag.clone(),
                fields: l.read.as_ref().ok().cloned(),
                action: None,
                problem: l.read.as_ref().err().cloned(),
            };
            if let (Some(tag), Ok(fields)) = (&l.id_tag, &l.read) {
                match self.check_parent(tag, fields, &coming).await {
                    Err(e) => out.problem = Some(format!("{tag}: {e}")),
                    Ok(()) => {
                        let exists = id_tags::get(&self.inner.store.reader, tag).await?.is_some();
                        out.action = Some(if exists { "update" } else { "create" }.into());
                        if exists {
                            preview.update += 1;
                        } else {
                            preview.create += 1;
                        }
                    }
                }
            }
            if out.problem.is_some() {
                preview.problems += 1;
            }
            preview.lines.push(out);
        }
        Ok(preview)
    }

    /// Create or update tags from CSV text (UTF-8, comma- or semicolon-separated, a header row
    /// naming the columns: `id_tag` and any of `status`, `expiry`, `parent_id_tag`, `group_kind`,
    /// `group_name`, `note`). All rows or none: any bad line fails the import with every problem
    /// listed by line (as [`Self::preview_id_tags`] shows them).
    pub async fn import_id_tags(&self, csv_text: &str) -> Result<ImportReport> {
        let preview = self.preview_id_tags(csv_text).await?;
        if preview.problems > 0 {
            let mut problems: Vec<String> = preview
                .lines
                .iter()
                .filter_map(|l| Some(format!("line {}: {}", l.line, l.problem.as_ref()?)))
                .collect();
            let more = problems.len().saturating_sub(20);
            problems.truncate(20);
            if more > 0 {
                problems.push(format!("… and {more} more"));
            }
            return Err(Error::Invalid(format!(
                "nothing imported: {}",
                problems.join("; ")
            )));
        }
        let rows: Vec<(String, TagFields)> = preview
            .lines
            .into_iter()
            .filter_map(|l| Some((l.id_tag?, l.fields?)))
            .collect();
        let now = self.now();
        let (created, updated) = self
            .inner
            .store
            .writer
            .write(move |c| {
                Box::pin(async move {
                    let (mut created, mut updated) = (0u64, 0u64);
                    for (tag, fields) in rows {
                        if id_tags::get(&mut *c, &tag).await?.is_some() {
                            id_tags::update(c, &tag, &fields, now).await?;
                            updated += 1;
                        } else {
                            id_tags::create(c, &tag, &fields, now).await?;
                            created += 1;
                        }
                    }
                    Ok((created, updated))
                })
            })
            .await?;
        Ok(ImportReport { created, updated })
    }

    pub async fn delete_id_tag(&self, id_tag: &str) -> Result<()> {
        let t = id_tag.to_string();
        self.inner
            .store
            .writer
            .write(move |c| Box::pin(async move { id_tags::delete(c, &t).await }))
            .await
            .map_err(or_missing(Error::NotFound(format!("id tag {id_tag}"))))
    }

    /// What a token is answered with now: by its stored tag (which must match its type when the
    /// tag names one), else as unknown (accepted under open charging).
    pub(crate) async fn authorize(&self, token: &Token) -> Result<TokenInfo> {
        let tag = id_tags::get(&self.inner.store.reader, &token.id)
            .await?
            .filter(|t| match (&t.token_type, &token.kind) {
                (Some(want), Some(got)) => want == got,
                _ => true,
            });
        Ok(self.tag_info(tag))
    }

    /// What a tag as stored (None: not known here) is answered with now.
    pub(crate) fn tag_info(&self, tag: Option<IdTag>) -> TokenInfo {
        let now = self.now();
        match tag {
            Some(t) => {
                let mut status = match t.status.as_str() {
                    "Accepted" => TokenStatus::Accepted,
                    "Blocked" => TokenStatus::Blocked,
                    "Expired" => TokenStatus::Expired,
                    _ => TokenStatus::Invalid,
                };
                if status == TokenStatus::Accepted && t.expiry.is_some_and(|e| e <= now) {
                    status = TokenStatus::Expired;
                }
                TokenInfo {
                    status,
                    expiry: t.expiry,
                    group: t.parent_id_tag,
                }
            }
            None => TokenInfo {
                status: if self.settings().open_charging {
                    TokenStatus::Accepted
                } else {
                    TokenStatus::Unknown
                },
                expiry: None,
                group: None,
            },
        }
    }
}
