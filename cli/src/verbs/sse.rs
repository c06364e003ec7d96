//! Server-Sent Events read from a byte stream that arrives in arbitrary pieces.

/// One event: `id` when the server gave one, `event` its type (`message` by default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    pub id: Option<String>,
    pub event: String,
    pub data: String,
}

/// Collects bytes into events; a line or an event cut between two pieces waits for the rest.
#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    id: Option<String>,
    event: Option<String>,
    data: Option<String>,
}

impl SseParser {
    /// The events that `bytes` complete.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        let mut events = Vec::new();
        for &byte in bytes {
            if byte != b'\n' {
                self.line.push(byte);
                continue;
            }
            let line = std::mem::take(&mut self.line);
            let line = String::from_utf8_lossy(line.strip_suffix(b"\r").unwrap_or(&line)).into_owned();
            if line.is_empty() {
                if let Some(data) = self.data.take() {
                    events.push(SseEvent {
                        id: self.id.take(),
                        event: self.event.take().unwrap_or_else(|| "message".to_owned()),
                        data,
                    });
                }
                self.id = None;
                self.event = None;
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((&line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "id" => self.id = Some(value.to_owned()),
                "event" => self.event = Some(value.to_owned()),
                "data" => match &mut self.data {
                    Some(data) => {
                        data.push('\n');
                        data.push_str(value);
                    }
                    None => self.data = Some(value.to_owned()),
                },
                // Comments (keep-alives) and `retry:`.
                _ => {}
            }
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: Option<&str>, event: &str, data: &str) -> SseEvent {
        SseEvent {
            id: id.map(str::to_owned),
            event: event.to_owned(),
            data: data.to_owned(),
        }
    }

    #[test]
    fn events_are_whole_however_the_bytes_are_cut() {
        let stream = "retry: 1000\n\nevent: status\ndata: {\"a\":1}\n\n: keep-alive\n\nid: 1-2\r\nevent: phase\r\ndata: {\"step\":\"préparer\"}\r\n\r\ndata: one\ndata: two\n\n";
        let expected = vec![
            event(None, "status", "{\"a\":1}"),
            event(Some("1-2"), "phase", "{\"step\":\"préparer\"}"),
            event(None, "message", "one\ntwo"),
        ];
        for piece in [1, 2, 3, 7, stream.len()] {
            let mut parser = SseParser::default();
            let events: Vec<SseEvent> = stream
                .as_bytes()
                .chunks(piece)
                .flat_map(|chunk| parser.push(chunk))
                .collect();
            assert_eq!(events, expected, "pieces of {piece} bytes");
        }
        let mut parser = SseParser::default();
        assert_eq!(
            parser.push(b"event: outcome\ndata: {}"),
            vec![],
            "not complete yet"
        );
        assert_eq!(parser.push(b"\n\n"), vec![event(None, "outcome", "{}")]);
    }
}
