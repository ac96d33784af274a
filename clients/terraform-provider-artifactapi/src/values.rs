//! Small conversions between Terraform values and the client's plain types, and schema
//! shorthands, shared by the resources.
use std::borrow::Cow;
use tf_provider::schema::{Attribute, AttributeConstraint, AttributeType, Description};
use tf_provider::value::{Value, ValueList, ValueNumber, ValueSet, ValueString};

pub type Strings<'a> = ValueList<ValueString<'a>>;
pub type StringSet<'a> = ValueSet<ValueString<'a>>;

pub fn string<'a>(s: impl Into<String>) -> ValueString<'a> {
    Value::Value(Cow::Owned(s.into()))
}

pub fn optional_string<'a>(s: Option<String>) -> ValueString<'a> {
    s.map_or(Value::Null, string)
}

pub fn strings<'a>(items: Vec<String>) -> Strings<'a> {
    Value::Value(items.into_iter().map(string).collect())
}

pub fn string_set<'a>(items: Vec<String>) -> StringSet<'a> {
    Value::Value(items.into_iter().map(string).collect())
}

pub fn number(n: u64) -> ValueNumber {
    Value::Value(i64::try_from(n).unwrap_or(i64::MAX))
}

/// The text of a known string, `None` when null or unknown.
pub fn text<'v>(v: &'v ValueString<'_>) -> Option<&'v str> {
    v.as_ref_option().map(|s| s.as_ref())
}

/// The items of a known list (or set), `None` when it is null or unknown; unknown items are
/// left out.
pub fn texts<'v, I>(v: &'v Value<I>) -> Option<Vec<String>>
where
    &'v I: IntoIterator<Item = &'v ValueString<'v>>,
{
    v.as_ref_option()
        .map(|items| items.into_iter().filter_map(|s| text(s).map(str::to_string)).collect())
}

/// A number as the API's u64 (negative numbers are refused by `validate` first).
pub fn unsigned(v: &ValueNumber) -> Option<u64> {
    v.as_ref_option().and_then(|n| u64::try_from(*n).ok())
}

/// What an optional attribute with a server-side default plans: the configured value, or the
/// default when the configuration leaves it out, so removing a line puts the default back and
/// a change made outside Terraform to an unset field shows as drift.
pub fn or_default<T: Clone>(config: &Value<T>, default: T) -> Value<T> {
    if config.is_null() {
        Value::Value(default)
    } else {
        config.clone()
    }
}

pub fn attribute(attr_type: AttributeType, description: &str, constraint: AttributeConstraint) -> Attribute {
    Attribute {
        attr_type,
        description: Description::plain(description.to_string()),
        constraint,
        ..Default::default()
    }
}

pub fn string_list() -> AttributeType {
    AttributeType::List(Box::new(AttributeType::String))
}

pub fn string_set_type() -> AttributeType {
    AttributeType::Set(Box::new(AttributeType::String))
}

/// Adds an error naming `attribute` when a number is negative.
pub fn check_unsigned(diags: &mut tf_provider::Diagnostics, attribute: &'static str, v: &ValueNumber) {
    if v.as_ref_option().is_some_and(|n| *n < 0) {
        diags.error_short(
            format!("{attribute} must not be negative"),
            tf_provider::AttributePath::new(attribute),
        );
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// Adds `fields` to the JSON object `base` (test fixtures).
    pub fn merge(base: &mut serde_json::Value, fields: serde_json::Value) {
        if let (Some(base), serde_json::Value::Object(fields)) = (base.as_object_mut(), fields) {
            base.extend(fields);
        }
    }

    #[test]
    fn defaults_fill_only_what_is_left_out() {
        assert_eq!(or_default(&Value::Null, 300), Value::Value(300));
        assert_eq!(or_default(&Value::Value(60), 300), Value::Value(60));
        assert_eq!(or_default(&Value::<i64>::Unknown, 300), Value::Unknown);
    }

    #[test]
    fn conversions() {
        assert_eq!(
            texts(&strings(vec!["a".into(), "b".into()])),
            Some(vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(texts::<Vec<ValueString>>(&Value::Null), None);
        assert_eq!(texts::<Vec<ValueString>>(&Value::Unknown), None);
        assert_eq!(unsigned(&Value::Value(5)), Some(5));
        assert_eq!(unsigned(&Value::Value(-1)), None);
        assert_eq!(number(u64::MAX), Value::Value(i64::MAX));
        assert_eq!(optional_string(None), Value::Null);
        assert_eq!(text(&string("x")), Some("x"));
    }
}
