//! Reading a policy document into ordered top-level keys, with line numbers where known.

use crate::error::Problem;

/// A scalar as written in the file.
#[derive(Debug, Clone, PartialEq)]
pub enum RawValue {
    Str(String),
    Bool(bool),
    Number(String),
    Null,
    /// A list or mapping where a scalar is expected; holds the type name.
    Nested(&'static str),
}

impl RawValue {
    pub fn type_name(&self) -> &'static str {
        match self {
            RawValue::Str(_) => "a string",
            RawValue::Bool(_) => "a boolean",
            RawValue::Number(_) => "a number",
            RawValue::Null => "empty",
            RawValue::Nested(t) => t,
        }
    }
}

/// One top-level key and its value.
#[derive(Debug, Clone)]
pub struct Entry {
    pub key: String,
    pub value: RawValue,
    pub line: Option<usize>,
}

/// Limits that keep hostile files from exhausting memory.
pub const MAX_FILE_BYTES: usize = 1 << 20;

/// Deepest nesting of flow lists/mappings accepted. The YAML parser takes time quadratic in
/// the depth before its own recursion limit stops it (100 KB of `[` took 40 s); a policy is flat.
pub const MAX_DEPTH: usize = 64;

/// The line where flow nesting (`[`, `{` outside quotes and comments) first exceeds
/// [`MAX_DEPTH`], if it does. Quoting is tracked roughly; this only has to stop abuse.
fn too_deep(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut line = 1;
    let mut quote: Option<char> = None;
    let mut comment = false;
    let mut escaped = false;
    let mut prev = '\n';
    for c in text.chars() {
        let before = std::mem::replace(&mut prev, c);
        match (c, quote) {
            ('\n', _) => {
                line += 1;
                comment = false;
                escaped = false;
            }
            _ if comment => {}
            // In double quotes a backslash escapes the next character (`\"` does not close).
            (_, Some('"')) if escaped => escaped = false,
            ('\\', Some('"')) => escaped = true,
            (q, Some(open)) if q == open => quote = None,
            (_, Some(_)) => {}
            ('"' | '\'', None) => quote = Some(c),
            // `#` starts a comment only at the start of a line or after white space.
            ('#', None) if before.is_whitespace() => comment = true,
            ('[' | '{', None) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Some(line);
                }
            }
            (']' | '}', None) => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// The first line of each top-level key candidate, found in one pass (best effort): for YAML
/// `key:` / `"key":` / `'key':` at the start of a line, for JSON `"key"` after indentation.
struct KeyLines(std::collections::HashMap<String, usize>);

impl KeyLines {
    fn new(text: &str, json: bool) -> Self {
        let mut map = std::collections::HashMap::new();
        for (i, l) in text.lines().enumerate() {
            let mut add = |k: &str| {
                map.entry(k.to_string()).or_insert(i + 1);
            };
            let t = if json { l.trim_start() } else { l.trim_end() };
            for q in ['"', '\''] {
                if let Some(rest) = t.strip_prefix(q) {
                    if let Some(end) = rest.find(q) {
                        add(&rest[..end]);
                    }
                }
            }
            if !json {
                for (at, _) in t.match_indices(':').take(4) {
                    add(t[..at].trim_end());
                }
            }
        }
        KeyLines(map)
    }

    fn line(&self, key: &str) -> Option<usize> {
        self.0.get(key).copied()
    }
}

/// Parse YAML (or JSON when `json` is true) into top-level entries.
pub fn parse(text: &str, json: bool) -> Result<Vec<Entry>, Problem> {
    if text.len() > MAX_FILE_BYTES {
        return Err(Problem::new(format!(
            "the file is {} bytes; a policy is at most 1 MiB",
            text.len()
        ))
        .hint("pass a policy file, not another kind of file"));
    }
    if let Some(line) = too_deep(text) {
        return Err(Problem::new(format!(
            "lists or mappings are nested more than {MAX_DEPTH} deep"
        ))
        .line(Some(line))
        .hint("a policy is flat `key: value` lines; values are text, true/false or numbers"));
    }
    let entries = if json {
        parse_json(text)?
    } else {
        parse_yaml(text)?
    };
    // Duplicate keys: YAML's parser rejects them; JSON's keeps the last, so check here.
    let mut seen = std::collections::BTreeMap::new();
    for e in &entries {
        if let Some(first) = seen.insert(e.key.clone(), e.line) {
            let at = first
                .map(|l| format!(" (first at line {l})"))
                .unwrap_or_default();
            return Err(Problem::new(format!("key '{}' appears twice{at}", e.key))
                .field(e.key.clone())
                .line(e.line)
                .hint("keep one of them"));
        }
    }
    Ok(entries)
}

/// A top-level key written twice in block style (`key:` at the start of a line), with the
/// lines of both: the YAML parser reports duplicates at the mapping's first line only.
fn duplicate_block_key(text: &str) -> Option<(String, usize, usize)> {
    let mut seen = std::collections::HashMap::new();
    for (i, l) in text.lines().enumerate() {
        if l.starts_with([' ', '\t', '#', '-']) {
            continue;
        }
        let Some((k, _)) = l.split_once(':') else {
            continue;
        };
        let k = k.trim().trim_matches(['"', '\'']);
        if k.is_empty() {
            continue;
        }
        if let Some(first) = seen.insert(k.to_string(), i + 1) {
            return Some((k.to_string(), first, i + 1));
        }
    }
    None
}

fn parse_yaml(text: &str) -> Result<Vec<Entry>, Problem> {
    let value: serde_norway::Value = serde_norway::from_str(text).map_err(|e| {
        if e.to_string().contains("duplicate entry") {
            if let Some((key, first, second)) = duplicate_block_key(text) {
                return Problem::new(format!("key '{key}' appears twice (first at line {first})"))
                    .field(key)
                    .line(Some(second))
                    .hint("keep one of them");
            }
        }
        Problem::new(format!(
            "not valid YAML: {}",
            strip_location(&e.to_string())
        ))
        .line(e.location().map(|l| l.line()))
        .hint("fix the syntax; a policy is a mapping of `key: value` lines")
    })?;
    let map = match value {
        serde_norway::Value::Mapping(m) => m,
        serde_norway::Value::Null => return Ok(Vec::new()),
        other => {
            return Err(Problem::new(format!(
                "the document is {}, not a mapping",
                yaml_type(&other)
            ))
            .hint("write `key: value` lines, e.g. `name: acme-prod`"))
        }
    };
    let lines = KeyLines::new(text, false);
    let mut out = Vec::new();
    for (k, v) in map {
        let key = match k {
            serde_norway::Value::String(s) => s,
            other => {
                return Err(
                    Problem::new(format!("a key is {}, not text", yaml_type(&other)))
                        .hint("keys are names like `token`"),
                )
            }
        };
        let value = match v {
            serde_norway::Value::String(s) => RawValue::Str(s),
            serde_norway::Value::Bool(b) => RawValue::Bool(b),
            serde_norway::Value::Number(n) => RawValue::Number(n.to_string()),
            serde_norway::Value::Null => RawValue::Null,
            other => RawValue::Nested(yaml_type(&other)),
        };
        let line = lines.line(&key);
        out.push(Entry { key, value, line });
    }
    Ok(out)
}

fn yaml_type(v: &serde_norway::Value) -> &'static str {
    match v {
        serde_norway::Value::Null => "empty",
        serde_norway::Value::Bool(_) => "a boolean",
        serde_norway::Value::Number(_) => "a number",
        serde_norway::Value::String(_) => "a string",
        serde_norway::Value::Sequence(_) => "a list",
        serde_norway::Value::Mapping(_) => "a mapping",
        serde_norway::Value::Tagged(_) => "a tagged value",
    }
}

/// serde_norway appends "at line N column M"; we report the line separately.
fn strip_location(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// Ordered JSON object entries, keeping duplicates so they can be reported.
struct JsonEntries(Vec<(String, serde_json::Value)>);

impl<'de> serde::Deserialize<'de> for JsonEntries {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = JsonEntries;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<JsonEntries, A::Error> {
                let mut v = Vec::new();
                while let Some(entry) = m.next_entry::<String, serde_json::Value>()? {
                    v.push(entry);
                }
                Ok(JsonEntries(v))
            }
        }
        d.deserialize_map(V)
    }
}

fn parse_json(text: &str) -> Result<Vec<Entry>, Problem> {
    let entries: JsonEntries = serde_json::from_str(text).map_err(|e| {
        Problem::new(format!(
            "not valid JSON: {}",
            strip_location(&e.to_string())
        ))
        .line(Some(e.line()).filter(|l| *l > 0))
        .hint("fix the syntax; a policy is one JSON object")
    })?;
    let lines = KeyLines::new(text, true);
    Ok(entries
        .0
        .into_iter()
        .map(|(key, v)| {
            let value = match v {
                serde_json::Value::String(s) => RawValue::Str(s),
                serde_json::Value::Bool(b) => RawValue::Bool(b),
                serde_json::Value::Number(n) => RawValue::Number(n.to_string()),
                serde_json::Value::Null => RawValue::Null,
                serde_json::Value::Array(_) => RawValue::Nested("a list"),
                serde_json::Value::Object(_) => RawValue::Nested("an object"),
            };
            let line = lines.line(&key);
            Entry { key, value, line }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_keys_keep_order_and_lines() {
        let e = parse("# c\nname: a\ntoken: x\ncloaked: true\n", false).unwrap();
        assert_eq!(e[0].key, "name");
        assert_eq!(e[0].line, Some(2));
        assert_eq!(e[2].value, RawValue::Bool(true));
    }

    #[test]
    fn duplicate_keys_are_reported_in_both_syntaxes() {
        let y = parse("# c\nname: a\ntoken: x\nname: b\n", false).unwrap_err();
        assert_eq!(y.message, "key 'name' appears twice (first at line 2)");
        assert_eq!((y.line, y.field.as_deref()), (Some(4), Some("name")));
        let j = parse("{\"name\": \"a\",\n\"name\": \"b\"}", true).unwrap_err();
        assert!(j.message.contains("appears twice"), "{}", j.message);
    }

    #[test]
    fn nesting_is_counted_outside_quotes_and_comments_only() {
        let braces = "{".repeat(MAX_DEPTH + 1);
        // Inside quotes (with escaped quotes before), or in a comment: text, not nesting.
        for ok in [
            format!("organization: \"a\\\"\\\"{braces}\"\n"),
            format!("organization: 'it''s {braces}'\n"),
            format!("name: x # {braces}\n"),
        ] {
            assert_eq!(too_deep(&ok), None, "{ok}");
        }
        // A `#` inside a word does not start a comment: the nesting after it counts.
        let hidden = format!("x#: {}\n", "[".repeat(MAX_DEPTH + 1));
        assert_eq!(too_deep(&hidden), Some(1));
        assert_eq!(
            too_deep(&format!("a: \"\\\\\" {braces}")),
            Some(1),
            "an escaped backslash ends"
        );
    }

    #[test]
    fn non_mapping_documents_are_rejected() {
        assert!(parse("- a\n- b\n", false)
            .unwrap_err()
            .message
            .contains("a list"));
        assert!(parse("[1]", true).is_err());
    }
}
