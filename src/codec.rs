//! How server functions answer: JSON, as with Leptos' default `Json`, but read in the browser
//! with `serde_json::from_str`, the reader Leptos uses for the resources a page hydrates with.
//! With the default, every answer type that is also a resource's value was compiled into the
//! WebAssembly twice (`from_slice` for the server function's answer, `from_str` for the
//! resource): 79 of the 160 JSON struct readers were such pairs. Every `#[server]` of this
//! crate names `output = crate::codec::Json`.
use leptos::server_fn::{codec::Post, Bytes, ContentType, Decodes, Encodes, Format, FormatType};
use serde::{de::DeserializeOwned, Serialize};

/// JSON in a server function's answer, read from text.
pub struct JsonText;

impl ContentType for JsonText {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for JsonText {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: Serialize> Encodes<T> for JsonText {
    type Error = serde_json::Error;

    fn encode(output: &T) -> Result<Bytes, Self::Error> {
        serde_json::to_vec(output).map(Bytes::from)
    }
}

impl<T: DeserializeOwned> Decodes<T> for JsonText {
    type Error = String;

    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        let text = std::str::from_utf8(&bytes).map_err(|e| e.to_string())?;
        serde_json::from_str(text).map_err(|e| e.to_string())
    }
}

/// The output encoding of every server function here: a POST answered with JSON.
pub type Json = Post<JsonText>;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, serde::Deserialize)]
    struct Answer {
        id: i64,
        title: String,
    }

    #[test]
    fn an_answer_reads_back_as_it_was_written() {
        let a = Answer {
            id: 7,
            title: "古田银耳 \"特级\"".into(),
        };
        let bytes = <JsonText as Encodes<Answer>>::encode(&a).unwrap();
        assert_eq!(
            std::str::from_utf8(&bytes).unwrap(),
            r#"{"id":7,"title":"古田银耳 \"特级\""}"#
        );
        let back: Answer = <JsonText as Decodes<Answer>>::decode(bytes).unwrap();
        assert_eq!(back, a);
    }

    #[test]
    fn bytes_that_are_not_json_text_are_an_error() {
        let bad = Bytes::from_static(b"{\"id\":1,\"title\":\"\xff\"}");
        assert!(<JsonText as Decodes<Answer>>::decode(bad).is_err());
        let bad = Bytes::from_static(b"{\"id\":\"1\"}");
        assert!(<JsonText as Decodes<Answer>>::decode(bad).is_err());
    }
}
