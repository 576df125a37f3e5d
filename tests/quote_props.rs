//! Round-trip property tests for `agentpack::formats::quote` against independent oracles written
//! here from each target's specification (not from the escaper's code):
//! msiexec's command-line tokenizer, cmd.exe's batch percent phase, PowerShell's verbatim-string
//! grammar, `java.util.Properties.load`, and quick-xml as an XML reader. Tera filters are checked
//! through real renders.

use agentpack::formats::quote::*;
use proptest::prelude::*;
use std::collections::HashMap;

/// Characters that stress the escapers, mixed with arbitrary code points and plain letters.
fn tricky_char() -> impl Strategy<Value = char> {
    let specials = vec![
        '\'', '"', '$', '(', ')', '`', '\\', '\n', '\t', '\r', ' ', '%', '&', '|', '<', '>', '^',
        '!', ';', ',', '#', '=', ':', '@', '{', '}', 'é', 'ÿ', '中', '😀', '\u{2018}', '\u{2019}',
        '\u{201A}', '\u{201B}', '\0', '\x01', '\x0C', '\x7F', '\u{85}', '\u{2028}', '\u{FFFE}',
        '\u{FFFF}', '\u{FEFF}',
    ];
    prop_oneof![
        3 => prop::sample::select(specials),
        2 => any::<char>(),
        3 => prop::char::range('a', 'z'),
    ]
}

fn tricky_string() -> impl Strategy<Value = String> {
    prop::collection::vec(tricky_char(), 0..24).prop_map(String::from_iter)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------- msiexec

/// msiexec's documented tokenizer ("Command-Line Options"): blanks separate arguments outside
/// quotes; `"` opens and closes a quoted run; inside quotes `""` is one literal `"`.
/// Returns arguments with quotes removed.
fn msiexec_tokens(line: &str) -> Vec<String> {
    let chars: Vec<char> = line.chars().collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_token = false;
    let mut quoted = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' {
            in_token = true;
            if quoted && chars.get(i + 1) == Some(&'"') {
                cur.push('"');
                i += 1;
            } else {
                quoted = !quoted;
            }
        } else if c.is_whitespace() && !quoted {
            if in_token {
                out.push(std::mem::take(&mut cur));
                in_token = false;
            }
        } else {
            cur.push(c);
            in_token = true;
        }
        i += 1;
    }
    assert!(!quoted, "unterminated quote in {line:?}");
    if in_token {
        out.push(cur);
    }
    out
}

/// `NAME=VALUE` arguments as a map; other arguments (switches, files) in order.
fn msiexec_parse(line: &str) -> (HashMap<String, String>, Vec<String>) {
    let mut props = HashMap::new();
    let mut rest = Vec::new();
    for t in msiexec_tokens(line) {
        match t.split_once('=') {
            Some((n, v)) if !t.starts_with('/') => {
                props.insert(n.to_owned(), v.to_owned());
            }
            _ => rest.push(t),
        }
    }
    (props, rest)
}

/// cmd.exe phase 1 in a batch file for text without `%NAME%` references: `%%` → `%`.
fn batch_percent_phase(line: &str) -> String {
    let mut out = String::new();
    let mut it = line.chars().peekable();
    while let Some(c) = it.next() {
        if c == '%' {
            assert_eq!(
                it.next(),
                Some('%'),
                "lone % would start a variable reference"
            );
        }
        out.push(c);
    }
    out
}

/// cmd.exe operators that are only inert inside double quotes: assert none is outside.
fn assert_cmd_metachars_quoted(line: &str) {
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            '&' | '|' | '<' | '>' | '^' | '(' | ')' => assert!(quoted, "{c} unquoted in {line:?}"),
            _ => {}
        }
    }
    assert!(!quoted, "unbalanced quotes in {line:?}");
}

fn msiexec_forbidden(c: char) -> bool {
    c.is_ascii_control() && c != '\t'
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn msiexec_value_round_trips(a in tricky_string(), b in tricky_string()) {
        let ok = !a.chars().any(msiexec_forbidden) && !b.chars().any(msiexec_forbidden);
        let (pa, pb) = (msiexec_property("PROP_A", &a), msiexec_property("PROP_B", &b));
        prop_assert_eq!(ok, pa.is_ok() && pb.is_ok());
        if let (Ok(pa), Ok(pb)) = (pa, pb) {
            // Neighbouring arguments must not bleed into each other.
            let line = format!("msiexec /i {} {pa} {pb} /qn", msiexec_path(r"C:\a b\p.msi").unwrap());
            let (props, rest) = msiexec_parse(&line);
            prop_assert_eq!(&props["PROP_A"], &a);
            prop_assert_eq!(&props["PROP_B"], &b);
            prop_assert_eq!(props.len(), 2);
            prop_assert_eq!(rest, vec!["msiexec", "/i", r"C:\a b\p.msi", "/qn"]);
            assert_cmd_metachars_quoted(&line);

            // The same line written into a .cmd file: cmd's percent phase, then msiexec.
            let batch = format!("msiexec /i x.msi {} {}", cmd_batch_token(&pa).unwrap(), cmd_batch_token(&pb).unwrap());
            let (props, _) = msiexec_parse(&batch_percent_phase(&batch));
            prop_assert_eq!(&props["PROP_A"], &a);
            prop_assert_eq!(&props["PROP_B"], &b);
        }
    }

    #[test]
    fn msiexec_path_round_trips(p in tricky_string()) {
        let ok = !p.is_empty() && !p.ends_with('\\') && !p.chars().any(|c| c == '"' || c.is_ascii_control());
        let r = msiexec_path(&p);
        prop_assert_eq!(ok, r.is_ok());
        if let Ok(q) = r {
            prop_assert_eq!(msiexec_tokens(&format!("/i {q} /qn")), vec!["/i".to_owned(), p, "/qn".to_owned()]);
            assert_cmd_metachars_quoted(&q);
        }
    }

    #[test]
    fn cmd_batch_text_survives_percent_phase(v in tricky_string()) {
        let ok = !v.chars().any(|c| c == '"' || msiexec_forbidden(c));
        let r = cmd_batch(&v);
        prop_assert_eq!(ok, r.is_ok());
        if let Ok(t) = r {
            let line = format!("set \"X={t}\"");
            assert_cmd_metachars_quoted(&line);
            prop_assert_eq!(batch_percent_phase(&line), format!("set \"X={v}\""));
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn cmd_line_text_needs_no_expansion(v in tricky_string()) {
        let ok = !v.chars().any(|c| c == '"' || c == '%' || msiexec_forbidden(c));
        let r = cmd_line_text(&v);
        prop_assert_eq!(ok, r.is_ok());
        if let Ok(t) = r {
            // On a `cmd /c` line nothing is expanded when there is no `%` at all.
            let line = format!("msiexec /l*v \"%TEMP%\\{t}\"");
            assert_cmd_metachars_quoted(&line);
            prop_assert_eq!(&t, &v);
            prop_assert!(!t.contains('%'));
        }
    }
}

// ---------------------------------------------------------------- PowerShell
// pwsh is not packaged for Debian, so no real PowerShell run is possible here; this oracle follows
// the language specification §2.3.5.2 instead.

fn ps_quote(c: char) -> bool {
    matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}')
}

/// Parse one verbatim string literal at the start of `s`: (value, rest of input).
fn ps_verbatim(s: &str) -> (String, &str) {
    let mut it = s.char_indices().peekable();
    let (_, open) = it.next().expect("literal");
    assert!(ps_quote(open), "literal must start with a quote: {s:?}");
    let mut out = String::new();
    while let Some((i, c)) = it.next() {
        if ps_quote(c) {
            match it.peek() {
                Some(&(_, d)) if ps_quote(d) => {
                    it.next();
                    out.push(d);
                }
                _ => return (out, &s[i + c.len_utf8()..]),
            }
        } else {
            out.push(c);
        }
    }
    panic!("unterminated literal {s:?}");
}

/// Evaluate the `powershell_ascii` expression grammar: a literal, or
/// `(` literal (`+` (literal | `[char]0xHHHH`))* `)`.
fn ps_ascii_eval(s: &str) -> String {
    assert!(s.is_ascii(), "{s:?}");
    let Some(mut rest) = s.strip_prefix('(') else {
        let (v, rest) = ps_verbatim(s);
        assert!(rest.is_empty());
        return v;
    };
    let mut units: Vec<u16> = Vec::new();
    let (first, r) = ps_verbatim(rest);
    units.extend(first.encode_utf16());
    rest = r;
    while let Some(r) = rest.strip_prefix('+') {
        if let Some(hex) = r.strip_prefix("[char]0x") {
            units.push(u16::from_str_radix(&hex[..4], 16).unwrap());
            rest = &hex[4..];
        } else {
            let (v, r) = ps_verbatim(r);
            units.extend(v.encode_utf16());
            rest = r;
        }
    }
    assert_eq!(rest, ")");
    String::from_utf16(&units).unwrap()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn powershell_round_trips(v in tricky_string()) {
        let r = powershell_single(&v);
        prop_assert_eq!(!v.contains('\0'), r.is_ok());
        if let Ok(lit) = r {
            let (back, rest) = ps_verbatim(&lit);
            prop_assert_eq!(back, v.clone());
            prop_assert_eq!(rest, "");
            prop_assert_eq!(ps_ascii_eval(&powershell_ascii(&v).unwrap()), v);
        }
    }
}

// ---------------------------------------------------------------- java.util.Properties

fn props_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\x0C')
}

/// `Properties.load` escape decoding: `\uXXXX`, `\t \n \r \f`, `\x` = x.
fn props_unescape(s: &[char]) -> String {
    let mut units = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        i += 1;
        if c != '\\' {
            units.extend(c.to_string().encode_utf16());
            continue;
        }
        let e = s[i];
        i += 1;
        match e {
            'u' => {
                let hex: String = s[i..i + 4].iter().collect();
                units.push(u16::from_str_radix(&hex, 16).unwrap());
                i += 4;
            }
            't' => units.push(9),
            'n' => units.push(10),
            'r' => units.push(13),
            'f' => units.push(12),
            other => units.extend(other.to_string().encode_utf16()),
        }
    }
    String::from_utf16(&units).expect("valid UTF-16")
}

/// `Properties.load(InputStream)`: bytes are ISO-8859-1; comment and blank lines skipped; a line
/// ending in an odd number of `\` continues; key ends at unescaped `=`, `:` or blank; then blanks
/// and at most one separator are skipped.
fn props_load(bytes: &[u8]) -> Vec<(String, String)> {
    let text: String = bytes.iter().map(|&b| b as char).collect();
    let mut out = Vec::new();
    let mut logical = String::new();
    for raw in text.split(['\n', '\r']) {
        // Leading blanks go on every natural line, continuation lines included.
        let line = raw.trim_start_matches(props_blank);
        if logical.is_empty() && (line.is_empty() || line.starts_with(['#', '!'])) {
            continue;
        }
        let trailing = line.chars().rev().take_while(|&c| c == '\\').count();
        if trailing % 2 == 1 {
            logical.push_str(&line[..line.len() - 1]);
            continue;
        }
        logical.push_str(line);
        let chars: Vec<char> = std::mem::take(&mut logical).chars().collect();
        let mut k = 0;
        let mut escaped = false;
        let mut has_sep = false;
        while k < chars.len() {
            let c = chars[k];
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '=' || c == ':' {
                has_sep = true;
                break;
            } else if props_blank(c) {
                break;
            }
            k += 1;
        }
        let mut v = k + usize::from(has_sep);
        while v < chars.len() {
            let c = chars[v];
            if props_blank(c) {
                v += 1;
            } else if !has_sep && (c == '=' || c == ':') {
                has_sep = true;
                v += 1;
            } else {
                break;
            }
        }
        out.push((
            props_unescape(&chars[..k]),
            props_unescape(&chars[v.min(chars.len())..]),
        ));
    }
    out
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn properties_round_trip(k in tricky_string(), v in tricky_string()) {
        let (rk, rv) = (java_properties_key(&k), java_properties_value(&v));
        prop_assert_eq!(!k.is_empty() && !k.contains('\0'), rk.is_ok());
        prop_assert_eq!(!v.contains('\0'), rv.is_ok());
        if let (Ok(ek), Ok(ev)) = (rk, rv) {
            prop_assert!(ek.is_ascii() && ev.is_ascii());
            let file = format!("# generated\nFIRST=1\n{ek}={ev}\nLAST=\\ x\n");
            let got = props_load(file.as_bytes());
            prop_assert_eq!(got, vec![
                ("FIRST".to_owned(), "1".to_owned()),
                (k, v.clone()),
                ("LAST".to_owned(), " x".to_owned()),
            ]);
            prop_assert_eq!(properties_value_is_plain(&v), ev == v);
        }
    }
}

#[test]
fn properties_oracle_sanity() {
    // The oracle itself must know Java's quirks, or the round trip proves little.
    let got = props_load(b"  a = b \n#c\n!d\nk\\ 1:v\\\n   w\nx\ny==z\n");
    let want = [("a", "b "), ("k 1", "vw"), ("x", ""), ("y", "=z")];
    assert_eq!(got, want.map(|(k, v)| (k.to_owned(), v.to_owned())));
}

// ---------------------------------------------------------------- XML (quick-xml as reader)

fn xml_read(doc: &str) -> (String, String) {
    use quick_xml::events::Event;
    use quick_xml::XmlVersion;
    let mut r = quick_xml::Reader::from_str(doc);
    let mut attr = None;
    let mut text = String::new();
    let mut inside = false;
    loop {
        match r.read_event().expect("well-formed") {
            Event::Start(e) => {
                inside = true;
                for a in e.attributes() {
                    let a = a.expect("attribute");
                    attr = Some(
                        a.normalized_value(XmlVersion::Implicit1_0)
                            .expect("value")
                            .into_owned(),
                    );
                }
            }
            Event::End(_) => inside = false,
            Event::Text(t) if inside => text.push_str(&t.xml10_content()),
            Event::GeneralRef(g) if inside => match g.resolve_char_ref().expect("char ref") {
                Some(c) => text.push(c),
                None => text.push_str(
                    quick_xml::escape::resolve_predefined_entity(&g.xml10_content())
                        .expect("entity"),
                ),
            },
            Event::Eof => break,
            _ => {}
        }
    }
    (attr.expect("attribute present"), text)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn xml_round_trips(v in tricky_string()) {
        let ok = v.chars().all(is_xml_char);
        let (t, a) = (xml_text(&v), xml_attr(&v));
        prop_assert_eq!(ok, t.is_ok());
        prop_assert_eq!(ok, a.is_ok());
        if let (Ok(t), Ok(a)) = (t, a) {
            for q in ['"', '\''] {
                let doc = format!("<?xml version=\"1.0\"?>\n<r a={q}{a}{q}>{t}</r>");
                let (attr, text) = xml_read(&doc);
                prop_assert_eq!(&attr, &v);
                prop_assert_eq!(&text, &v);
            }
        }
    }
}

#[test]
fn xml_attribute_whitespace_needs_the_escapes() {
    // Control: unescaped, normalisation would turn them into spaces (proves the reader normalises).
    let (attr, text) = xml_read("<r a=\"x\ty\nz\r\n\">a\r\nb\rc</r>");
    assert_eq!(attr, "x y z ");
    assert_eq!(text, "a\nb\nc");
    let v = "x\ty\nz\r\n";
    let doc = format!(
        "<r a=\"{}\">{}</r>",
        xml_attr(v).unwrap(),
        xml_text(v).unwrap()
    );
    assert_eq!(xml_read(&doc), (v.to_owned(), v.to_owned()));
}

// ---------------------------------------------------------------- tera

fn tera_render(tpl: &str, v: &serde_json::Value) -> tera::Result<String> {
    let mut t = tera::Tera::default();
    t.autoescape_on(vec![]);
    register_filters(&mut t);
    t.add_raw_template("t", tpl)?;
    let mut ctx = tera::Context::new();
    ctx.insert("v", v);
    t.render("t", &ctx)
}

#[test]
fn tera_filters_escape() {
    let v = serde_json::Value::from("a'b\"c&d%e");
    let cases = [
        ("{{ v | sh }}", r#"'a'\''b"c&d%e'"#.to_owned()),
        ("{{ v | ps }}", r#"'a''b"c&d%e'"#.to_owned()),
        ("{{ v | ps_ascii }}", r#"'a''b"c&d%e'"#.to_owned()),
        ("{{ v | xml }}", "a&apos;b&quot;c&amp;d%e".to_owned()),
        ("{{ v | xml_attr }}", "a&apos;b&quot;c&amp;d%e".to_owned()),
        ("{{ v | msiexec }}", r#""a'b""c&d%e""#.to_owned()),
        (
            "P={{ v | msiexec | cmd_token }}",
            r#"P="a'b""c&d%%e""#.to_owned(),
        ),
        ("{{ v | props }}", "a'b\"c&d%e".to_owned()),
        ("{{ v | props_key }}", "a'b\"c&d%e".to_owned()),
    ];
    for (tpl, want) in cases {
        assert_eq!(tera_render(tpl, &v).unwrap(), want, "{tpl}");
    }
    let p = serde_json::Value::from(r"C:\a b\c.msi");
    assert_eq!(
        tera_render("{{ v | msiexec_path }}", &p).unwrap(),
        r#""C:\a b\c.msi""#
    );
    assert_eq!(
        tera_render("{{ v | cmd }}", &serde_json::Value::from("50%")).unwrap(),
        "50%%"
    );
    assert_eq!(
        tera_render("{{ v | sh }}", &serde_json::json!(1.5)).unwrap(),
        "'1.5'"
    );
    assert_eq!(FILTER_NAMES.len(), 11);
}

#[test]
fn tera_filter_failures_fail_the_render() {
    let cases = [
        ("{{ v | cmd }}", serde_json::Value::from("a\"b")),
        ("{{ v | msiexec }}", serde_json::Value::from("a\nb")),
        ("{{ v | msiexec_path }}", serde_json::Value::from("a\"b")),
        ("{{ v | sh }}", serde_json::Value::from("a\0")),
        ("{{ v | xml }}", serde_json::Value::from("\x01")),
        ("{{ v | props_key }}", serde_json::Value::from("")),
        ("{{ v | ps }}", serde_json::Value::Null),
        ("{{ v | props }}", serde_json::json!({"a": 1})),
    ];
    for (tpl, v) in cases {
        let err = tera_render(tpl, &v).unwrap_err();
        let q = find_quote_error(&err).unwrap_or_else(|| panic!("{tpl}: no QuoteError in {err:?}"));
        // The message names a code point, never the value itself.
        if let Some(s) = v.as_str().filter(|s| s.len() > 1) {
            assert!(!q.to_string().contains(s), "{q}");
        }
    }
}
