//! Tera filters applying the escapers: `{{ value | sh }}`.
//!
//! * A string is escaped as is; a number or bool is stringified first (`1`, `2.5`, `true`).
//! * Anything else (null, array, object) and any filter argument is an error: a template bug
//!   must not render as empty or JSON text.
//! * An unrepresentable value fails the render; the [`QuoteError`] is in the error's source chain
//!   (see [`find_quote_error`]).
//! * The filters are marked *safe*: their output is final for its target, so tera's HTML
//!   autoescape (if left on by mistake) must not mangle `&`, `<` or quotes a second time.

use super::{
    cmd_batch, cmd_batch_token, java_properties_key, java_properties_value, msiexec_path,
    msiexec_value, powershell_ascii, powershell_single, sh_single, xml_attr, xml_text, QuoteError,
    QuoteTarget,
};
use std::collections::HashMap;
use tera::Value;

type Escaper = fn(&str) -> Result<String, QuoteError>;

const FILTERS: [(&str, Escaper); 11] = [
    ("sh", sh_single),
    ("ps", powershell_single),
    ("ps_ascii", powershell_ascii),
    ("xml", xml_text),
    ("xml_attr", xml_attr),
    ("msiexec", msiexec_value),
    ("msiexec_path", msiexec_path),
    ("cmd", cmd_batch),
    ("cmd_token", cmd_batch_token),
    ("props", java_properties_value),
    ("props_key", java_properties_key),
];

/// Names of the filters [`register_filters`] adds.
pub const FILTER_NAMES: [&str; 11] = {
    let mut names = [""; 11];
    let mut i = 0;
    while i < FILTERS.len() {
        names[i] = FILTERS[i].0;
        i += 1;
    }
    names
};

struct QuoteFilter(Escaper);

fn as_text(value: &Value) -> Result<String, QuoteError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Null => Err(QuoteError::whole(QuoteTarget::Filter, "value is null")),
        Value::Array(_) | Value::Object(_) => Err(QuoteError::whole(
            QuoteTarget::Filter,
            "value is an array or object, not a string, number or bool",
        )),
    }
}

impl tera::Filter for QuoteFilter {
    fn filter(&self, value: &Value, args: &HashMap<String, Value>) -> tera::Result<Value> {
        let escaped = if args.is_empty() {
            as_text(value).and_then(|s| (self.0)(&s))
        } else {
            Err(QuoteError::whole(
                QuoteTarget::Filter,
                "escaping filters take no arguments",
            ))
        };
        escaped
            .map(Value::String)
            .map_err(|e| tera::Error::chain("value rejected by escaping filter", e))
    }

    fn is_safe(&self) -> bool {
        true
    }
}

/// Add the escaping filters `sh`, `ps`, `ps_ascii`, `xml`, `xml_attr`, `msiexec`,
/// `msiexec_path`, `cmd`, `cmd_token`, `props`, `props_key` to `tera`.
pub fn register_filters(tera: &mut tera::Tera) {
    for (name, f) in FILTERS {
        tera.register_filter(name, QuoteFilter(f));
    }
}

/// The [`QuoteError`] somewhere in an error's source chain (e.g. a failed tera render).
pub fn find_quote_error<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a QuoteError> {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(q) = e.downcast_ref::<QuoteError>() {
            return Some(q);
        }
        cur = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(tpl: &str, value: Value, autoescape: bool) -> tera::Result<String> {
        let mut t = tera::Tera::default();
        register_filters(&mut t);
        if !autoescape {
            t.autoescape_on(vec![]);
        }
        t.add_raw_template("t.html", tpl)?;
        let mut ctx = tera::Context::new();
        ctx.insert("v", &value);
        t.render("t.html", &ctx)
    }

    #[test]
    fn filters_render_and_are_safe_under_autoescape() {
        // `.html` turns autoescape on: output must still be exactly the filter's.
        let out = render("{{ v | sh }}|{{ v | xml }}", Value::from("a&'b"), true).unwrap();
        assert_eq!(out, r"'a&'\''b'|a&amp;&apos;b");
    }

    #[test]
    fn scalars_are_stringified() {
        assert_eq!(
            render("{{ v | msiexec }}", Value::from(42), false).unwrap(),
            "42"
        );
        assert_eq!(
            render("{{ v | sh }}", Value::from(true), false).unwrap(),
            "'true'"
        );
    }

    #[test]
    fn bad_values_fail() {
        for (tpl, v) in [
            ("{{ v | cmd }}", Value::from("a\"b")),
            ("{{ v | sh }}", Value::Null),
            ("{{ v | xml }}", serde_json::json!(["a"])),
            ("{{ v | sh(x=1) }}", Value::from("a")),
        ] {
            let err = render(tpl, v, false).unwrap_err();
            assert!(find_quote_error(&err).is_some(), "{tpl}: {err:?}");
        }
    }
}
