//! Reading a policy document into ordered top-level keys, with line numbers where known.

use crate::error::Problem;

/// A scalar as written in the file.
#[derive(Clone, PartialEq)]
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

/// Any value may be the token (under its own key or a wrong one): `{:?}` masks UUIDs.
impl std::fmt::Debug for RawValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RawValue::Str(s) => write!(f, "Str({:?})", crate::secret::mask_uuids(s)),
            RawValue::Bool(b) => write!(f, "Bool({b})"),
            RawValue::Number(n) => write!(f, "Number({:?})", crate::secret::mask_uuids(n)),
            RawValue::Null => f.write_str("Null"),
            RawValue::Nested(t) => write!(f, "Nested({t})"),
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

/// A parsed document: its entries (the first of each key) and the problems found that do not
/// stop the rest of the file from being checked (duplicate keys, keys that are not text).
#[derive(Debug, Default)]
pub struct Parsed {
    pub entries: Vec<Entry>,
    pub problems: Vec<Problem>,
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

/// The lines of each top-level key, found in one pass: for YAML (best effort) `key:` /
/// `"key":` / `'key':` at the start of a line; for JSON every key of the top-level object.
/// The n-th entry of a key (duplicates are kept) takes the n-th line.
struct KeyLines(std::collections::HashMap<String, Vec<usize>>);

impl KeyLines {
    fn new(text: &str, json: bool) -> Self {
        if json {
            return KeyLines::json(text);
        }
        let mut map: std::collections::HashMap<String, Vec<usize>> = Default::default();
        for (i, l) in text.lines().enumerate() {
            let mut add = |k: &str| {
                let lines = map.entry(k.to_string()).or_default();
                if lines.last() != Some(&(i + 1)) {
                    lines.push(i + 1);
                }
            };
            let t = l.trim_end();
            for q in ['"', '\''] {
                if let Some(rest) = t.strip_prefix(q) {
                    if let Some(end) = rest.find(q) {
                        add(&rest[..end]);
                    }
                }
            }
            for (at, _) in t.match_indices(':').take(4) {
                add(t[..at].trim_end());
            }
        }
        KeyLines(map)
    }

    /// Keys of the top-level JSON object: strings at depth 1 followed by `:`.
    fn json(text: &str) -> Self {
        let mut map: std::collections::HashMap<String, Vec<usize>> = Default::default();
        let b = text.as_bytes();
        let (mut depth, mut line, mut i) = (0usize, 1usize, 0usize);
        while i < b.len() {
            match b[i] {
                b'\n' => line += 1,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => depth = depth.saturating_sub(1),
                b'"' => {
                    let (start, start_line) = (i, line);
                    i += 1;
                    while i < b.len() && b[i] != b'"' {
                        match b[i] {
                            b'\\' => i += 1,
                            b'\n' => line += 1,
                            _ => {}
                        }
                        i += 1;
                    }
                    let end = (i + 1).min(b.len());
                    let next = b[end..].iter().find(|c| !c.is_ascii_whitespace());
                    if depth == 1 && next == Some(&b':') {
                        if let Ok(key) = serde_json::from_slice::<String>(&b[start..end]) {
                            map.entry(key).or_default().push(start_line);
                        }
                    }
                }
                _ => {}
            }
            i += 1;
        }
        KeyLines(map)
    }

    fn line(&self, key: &str, occurrence: usize) -> Option<usize> {
        self.0.get(key).and_then(|l| l.get(occurrence)).copied()
    }
}

/// Entries in document order with their lines, duplicates reported (the first one is kept):
/// YAML forbids duplicate keys and JSON's readers disagree on which one wins.
fn collect(
    pairs: Vec<(String, RawValue)>,
    lines: &KeyLines,
    problems: &mut Vec<Problem>,
) -> Vec<Entry> {
    let mut seen: std::collections::HashMap<String, (usize, Option<usize>)> = Default::default();
    let mut out = Vec::new();
    for (key, value) in pairs {
        let n = seen.get(&key).map_or(0, |(n, _)| *n);
        let line = lines.line(&key, n);
        match seen.get_mut(&key) {
            Some((count, first)) => {
                *count += 1;
                let at = first
                    .map(|l| format!(" (first at line {l})"))
                    .unwrap_or_default();
                problems.push(
                    Problem::new(format!("key '{key}' appears twice{at}"))
                        .field(key.clone())
                        .line(line)
                        .hint("keep one of them"),
                );
            }
            None => {
                seen.insert(key.clone(), (1, line));
                out.push(Entry { key, value, line });
            }
        }
    }
    out
}

/// Parse YAML (or JSON when `json` is true) into top-level entries. An error is a file that
/// cannot be read as a mapping at all; anything else is reported in [`Parsed::problems`].
pub fn parse(text: &str, json: bool) -> Result<Parsed, Problem> {
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
    let mut problems = Vec::new();
    let lines = KeyLines::new(text, json);
    let pairs = if json {
        parse_json(text)?
    } else {
        parse_yaml(text, &mut problems)?
    };
    let entries = collect(pairs, &lines, &mut problems);
    Ok(Parsed { entries, problems })
}

/// A parser's message as shown: no quoted value (it may be the token), no position (we report
/// the line separately).
fn parser_message(msg: &str) -> String {
    crate::secret::hide_quoted_values(&strip_location(msg))
}

/// The top-level mapping of a YAML document as ordered pairs, duplicates kept (the YAML
/// parser's own mapping type rejects them, which would hide every other problem).
struct YamlPairs(Option<Vec<(serde_norway::Value, serde_norway::Value)>>);

impl<'de> serde::Deserialize<'de> for YamlPairs {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = YamlPairs;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a mapping of `key: value` lines")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<YamlPairs, A::Error> {
                let mut v = Vec::new();
                while let Some(entry) = m.next_entry()? {
                    v.push(entry);
                }
                Ok(YamlPairs(Some(v)))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<YamlPairs, E> {
                Ok(YamlPairs(None))
            }
            fn visit_none<E: serde::de::Error>(self) -> Result<YamlPairs, E> {
                Ok(YamlPairs(None))
            }
        }
        d.deserialize_any(V)
    }
}

fn parse_yaml(text: &str, problems: &mut Vec<Problem>) -> Result<Vec<(String, RawValue)>, Problem> {
    let syntax = |e: serde_norway::Error| {
        Problem::new(format!(
            "not valid YAML: {}",
            parser_message(&e.to_string())
        ))
        .line(e.location().map(|l| l.line()))
        .hint("fix the syntax; a policy is a mapping of `key: value` lines")
    };
    let pairs = match serde_norway::from_str::<YamlPairs>(text) {
        Ok(YamlPairs(Some(pairs))) => pairs,
        Ok(YamlPairs(None)) => return Ok(Vec::new()),
        Err(e) => {
            // Not a mapping: say what the document is, if it is valid YAML at all.
            return Err(match serde_norway::from_str::<serde_norway::Value>(text) {
                Ok(other) => Problem::new(format!(
                    "the document is {}, not a mapping",
                    yaml_type(&other)
                ))
                .hint("write `key: value` lines, e.g. `name: acme-prod`"),
                Err(_) => syntax(e),
            });
        }
    };
    let mut out = Vec::new();
    for (k, v) in pairs {
        let key = match k {
            serde_norway::Value::String(s) => s,
            other => {
                let mut p = Problem::new(format!("a key is {}, not text", yaml_type(&other)))
                    .hint("keys are names like `token`");
                if let serde_norway::Value::Bool(_) | serde_norway::Value::Number(_) = other {
                    let shown = serde_norway::to_string(&other).unwrap_or_default();
                    p = p.field(shown.trim_end().to_string());
                }
                problems.push(p);
                continue;
            }
        };
        let value = match v {
            serde_norway::Value::String(s) => RawValue::Str(s),
            serde_norway::Value::Bool(b) => RawValue::Bool(b),
            serde_norway::Value::Number(n) => RawValue::Number(n.to_string()),
            serde_norway::Value::Null => RawValue::Null,
            other => RawValue::Nested(yaml_type(&other)),
        };
        out.push((key, value));
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

fn parse_json(text: &str) -> Result<Vec<(String, RawValue)>, Problem> {
    let entries: JsonEntries = serde_json::from_str(text).map_err(|e| {
        let message = match e.classify() {
            // The only type error possible: the document itself is not an object.
            serde_json::error::Category::Data => "the document is not a JSON object".to_string(),
            _ => format!("not valid JSON: {}", parser_message(&e.to_string())),
        };
        Problem::new(message)
            .line(Some(e.line()).filter(|l| *l > 0))
            .hint("fix the syntax; a policy is one JSON object")
    })?;
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
            (key, value)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_keys_keep_order_and_lines() {
        let e = parse("# c\nname: a\ntoken: x\ncloaked: true\n", false)
            .unwrap()
            .entries;
        assert_eq!(e[0].key, "name");
        assert_eq!(e[0].line, Some(2));
        assert_eq!(e[2].value, RawValue::Bool(true));
    }

    #[test]
    fn duplicate_keys_are_reported_in_both_syntaxes_without_stopping() {
        let y = parse("# c\nname: a\ntoken: x\nname: b\nscope: 1\n", false).unwrap();
        assert_eq!(y.problems.len(), 1, "{:?}", y.problems);
        let p = &y.problems[0];
        assert_eq!(p.message, "key 'name' appears twice (first at line 2)");
        assert_eq!((p.line, p.field.as_deref()), (Some(4), Some("name")));
        // Everything else is still read; the first value is kept.
        let keys: Vec<_> = y.entries.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["name", "token", "scope"]);
        assert_eq!(y.entries[0].value, RawValue::Str("a".into()));
        assert_eq!(y.entries[2].line, Some(5));

        let j = parse("{\"name\": \"a\",\n\"x\": 1,\n  \"name\": \"b\"}", true).unwrap();
        assert_eq!(j.problems.len(), 1);
        assert_eq!(
            j.problems[0].message,
            "key 'name' appears twice (first at line 1)"
        );
        assert_eq!(j.problems[0].line, Some(3));
        assert_eq!(j.entries.len(), 2);

        let three = parse("a: 1\na: 2\na: 3\n", false).unwrap();
        let lines: Vec<_> = three.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [Some(2), Some(3)]);
    }

    #[test]
    fn keys_that_are_not_text_are_reported_with_the_rest() {
        let y = parse("1: a\nname: x\n", false).unwrap();
        assert_eq!(y.problems.len(), 1);
        assert!(y.problems[0].message.contains("a number"));
        assert_eq!(y.entries.len(), 1);
    }

    #[test]
    fn parser_messages_do_not_echo_values() {
        let t = "0fb12341246b448db07fc6573ad5ad02";
        let j = parse(&format!("\"{t}\""), true).unwrap_err();
        assert!(!j.message.contains(t), "{}", j.message);
        let y = parse(&format!("a: {{b: 1, b: {t}}}\n"), false);
        let shown = format!("{y:?}");
        assert!(!shown.contains(t), "{shown}");
        let y = parse(&format!("a: \"{t}\n"), false).unwrap_err();
        assert!(!y.message.contains(t), "{}", y.message);
    }

    #[test]
    fn debug_masks_values() {
        let v = RawValue::Str("x 0fb12341-246b-448d-b07f-c6573ad5ad02".into());
        assert_eq!(format!("{v:?}"), "Str(\"x <redacted>\")");
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
