//! A Distributed Map's `ItemReader` and `ItemBatcher`: how the bytes of an S3 object, or the
//! keys of a listing, become items, a chunk at a time (an object is never held whole), and how
//! items group into the batches children run. Pure: the engine fetches the bytes (the S3 client
//! of `switchback-invoke`) and keeps the [`Cursor`] between rounds, committed with the children
//! the items went to, so a crash reads nothing twice into a child.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::failure::Failure;
use crate::limits;

/// The error of a reader that cannot read its items.
pub const READER_FAILED: &str = "States.ItemReaderFailed";

/// Where the items come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// `arn:aws:states:::s3:getObject`: the items of one object.
    GetObject {
        bucket: String,
        key: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version_id: Option<String>,
    },
    /// `arn:aws:states:::s3:listObjectsV2`: one item per object under a prefix.
    ListObjects {
        bucket: String,
        #[serde(default)]
        prefix: String,
    },
}

/// `ReaderConfig.InputType` of an object.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum InputType {
    /// A JSON array (or, with `ItemsPointer`, an array inside a JSON document).
    #[default]
    Json,
    /// One JSON value per line.
    Jsonl,
    /// Rows of a CSV file, each an object of header → string.
    Csv,
    /// An S3 Inventory `manifest.json`: the rows of the CSV files it lists, each an object of
    /// its `fileSchema`'s fields → string.
    Manifest,
}

/// What an `ItemReader` reads, evaluated when the Map state starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReaderSpec {
    pub source: Source,
    #[serde(default)]
    pub input_type: InputType,
    /// `CSVHeaderLocation: GIVEN`: these headers; otherwise the first row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csv_headers: Option<Vec<String>>,
    /// `CSVDelimiter` as the byte it names.
    #[serde(default = "comma")]
    pub csv_delimiter: u8,
    /// `MaxItems(Path)`: read at most this many items (none: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_items: Option<u64>,
    /// `ItemsPointer`: the array is at this JSON pointer of the object (read whole).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items_pointer: Option<String>,
}

fn comma() -> u8 {
    b','
}

/// The byte a `CSVDelimiter` names.
pub fn delimiter(name: &str) -> Option<u8> {
    match name {
        "COMMA" => Some(b','),
        "PIPE" => Some(b'|'),
        "SEMICOLON" => Some(b';'),
        "SPACE" => Some(b' '),
        "TAB" => Some(b'\t'),
        _ => None,
    }
}

/// Where a run's reading stands: the item after the last one that went to a child.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Items read (the index of the next item).
    pub items: u64,
    /// Bytes of the object consumed.
    #[serde(default)]
    pub offset: u64,
    /// A JSON array's opening bracket was read.
    #[serde(default)]
    pub opened: bool,
    /// A CSV object's headers, once read from its first row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Vec<String>>,
    /// A manifest: the data file being read (its index in the manifest); `offset` is then in
    /// that file's bytes, decompressed.
    #[serde(default)]
    pub file: u64,
    /// A listing: the last key read (the next page starts after it, whatever keys came or went
    /// in between).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_key: Option<String>,
    /// Nothing more to read.
    #[serde(default)]
    pub done: bool,
}

/// Items read from a chunk, each with the cursor just after it.
#[derive(Debug, Default)]
pub struct Parsed {
    pub items: Vec<(Value, Cursor)>,
    /// The object ends within the chunk (after the last item).
    pub done: bool,
}

fn failed(cause: impl Into<String>) -> Failure {
    Failure::new(READER_FAILED, cause)
}

/// At most `limit` items of `chunk`, the bytes of the object from `cursor.offset` on;
/// `at_end`: the chunk reaches the object's end. An item cut by the chunk's end is left for the
/// next chunk; no item at all means the chunk must grow. Parsing stops at `limit`, so a round
/// that needs a few items parses a few, whatever the chunk holds.
pub fn parse_object(
    spec: &ReaderSpec,
    cursor: &Cursor,
    chunk: &[u8],
    at_end: bool,
    limit: usize,
) -> Result<Parsed, Failure> {
    let limit = limit.max(1);
    match spec.input_type {
        InputType::Jsonl => parse_lines(cursor, chunk, at_end, limit),
        // A manifest's data files are CSV without a header row (the caller gives the headers).
        InputType::Csv | InputType::Manifest => parse_csv(spec, cursor, chunk, at_end, limit),
        InputType::Json if spec.items_pointer.is_some() => {
            parse_pointer(spec, cursor, chunk, limit)
        }
        InputType::Json => parse_array(cursor, chunk, at_end, limit),
    }
}

fn next_cursor(cursor: &Cursor, consumed: usize) -> Cursor {
    Cursor {
        items: cursor.items + 1,
        offset: cursor.offset + consumed as u64,
        ..cursor.clone()
    }
}

fn parse_item(text: &[u8]) -> Result<Value, Failure> {
    serde_json::from_slice(text).map_err(|error| {
        failed(format!(
            "Attempting to map the file contents to JSON failed: {error}"
        ))
    })
}

fn parse_lines(
    cursor: &Cursor,
    chunk: &[u8],
    at_end: bool,
    limit: usize,
) -> Result<Parsed, Failure> {
    let mut parsed = Parsed::default();
    let mut start = 0usize;
    let mut current = cursor.clone();
    while start < chunk.len() && parsed.items.len() < limit {
        let end = match chunk[start..].iter().position(|b| *b == b'\n') {
            Some(newline) => start + newline + 1,
            None if at_end => chunk.len(),
            None => break,
        };
        let line = chunk[start..end].trim_ascii();
        if !line.is_empty() {
            let item = parse_item(line)?;
            current = next_cursor(&current, 0);
            current.offset = cursor.offset + end as u64;
            parsed.items.push((item, current.clone()));
        } else if let Some((_, last)) = parsed.items.last_mut() {
            // Blank lines after an item belong to it: the next read starts past them.
            last.offset = cursor.offset + end as u64;
        }
        start = end;
    }
    parsed.done = at_end && start >= chunk.len();
    Ok(parsed)
}

fn parse_csv(
    spec: &ReaderSpec,
    cursor: &Cursor,
    chunk: &[u8],
    at_end: bool,
    limit: usize,
) -> Result<Parsed, Failure> {
    // A byte order mark at the start of the object is not part of the first header.
    let skip = if cursor.offset == 0 && chunk.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(spec.csv_delimiter)
        .from_reader(&chunk[skip..]);
    let mut rows = Vec::new();
    let mut record = csv::ByteRecord::new();
    // The header row, when it is still to read, is one more row than the items.
    let wanted = limit + usize::from(cursor.headers.is_none() && spec.csv_headers.is_none());
    while rows.len() < wanted {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let end = skip + reader.position().byte() as usize;
                // A row that reaches the chunk's end may go on in the next chunk.
                if end >= chunk.len() && !at_end {
                    break;
                }
                rows.push((record.clone(), end));
            }
            Err(error) => return Err(failed(format!("The CSV file could not be read: {error}"))),
        }
    }
    let mut parsed = Parsed::default();
    let mut current = cursor.clone();
    if current.headers.is_none() {
        current.headers = spec.csv_headers.clone();
    }
    let consumed_all = rows.last().map(|(_, end)| *end);
    for (row, end) in rows {
        let fields: Vec<String> = row
            .iter()
            .map(|field| String::from_utf8_lossy(field).into_owned())
            .collect();
        let Some(headers) = &current.headers else {
            // The first row names the fields; the items after it carry it in their cursor.
            check_headers(&fields)?;
            current.headers = Some(fields);
            current.offset = cursor.offset + end as u64;
            continue;
        };
        let mut item = Map::new();
        for (i, header) in headers.iter().enumerate() {
            item.insert(
                header.clone(),
                Value::from(fields.get(i).cloned().unwrap_or_default()),
            );
        }
        current = next_cursor(&current, 0);
        current.offset = cursor.offset + end as u64;
        parsed.items.push((Value::Object(item), current.clone()));
    }
    parsed.done = at_end && consumed_all.is_none_or(|end| end >= chunk.len());
    Ok(parsed)
}

fn check_headers(headers: &[String]) -> Result<(), Failure> {
    let mut seen = std::collections::HashSet::new();
    if headers.iter().all(|h| seen.insert(h)) {
        Ok(())
    } else {
        Err(failed("CSV headers cannot contain duplicates."))
    }
}

/// A JSON array read element by element: each element's end is found by its brackets and
/// strings, and only the element is parsed.
fn parse_array(
    cursor: &Cursor,
    chunk: &[u8],
    at_end: bool,
    limit: usize,
) -> Result<Parsed, Failure> {
    let mut parsed = Parsed::default();
    let mut current = cursor.clone();
    let mut pos = 0usize;
    let skip_space = |pos: &mut usize| {
        while *pos < chunk.len() && chunk[*pos].is_ascii_whitespace() {
            *pos += 1;
        }
    };
    if !current.opened {
        if cursor.offset == 0 && chunk.starts_with(b"\xEF\xBB\xBF") {
            pos = 3;
        }
        skip_space(&mut pos);
        match chunk.get(pos) {
            None if at_end => return Err(failed("The file is empty: expected a JSON array")),
            None => return Ok(parsed),
            Some(b'[') => {
                current.opened = true;
                current.offset = cursor.offset + pos as u64 + 1;
                pos += 1;
            }
            Some(_) => {
                return Err(failed(
                    "Attempting to map the file contents to a JSON array failed: the file does not hold a JSON array",
                ));
            }
        }
    }
    while parsed.items.len() < limit {
        skip_space(&mut pos);
        if chunk.get(pos) == Some(&b',') {
            pos += 1;
            skip_space(&mut pos);
        }
        match chunk.get(pos) {
            None if at_end => {
                return Err(failed("The JSON array is not closed"));
            }
            None => break,
            Some(b']') => {
                parsed.done = true;
                break;
            }
            Some(_) => {}
        }
        let Some(end) = element_end(&chunk[pos..]) else {
            if at_end {
                return Err(failed("The JSON array is not closed"));
            }
            break;
        };
        let item = parse_item(&chunk[pos..pos + end])?;
        pos += end;
        current = next_cursor(&current, 0);
        current.offset = cursor.offset + pos as u64;
        parsed.items.push((item, current.clone()));
    }
    Ok(parsed)
}

/// Where the JSON value at the start of `bytes` ends, or `None` when it goes past them.
fn element_end(bytes: &[u8]) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, byte) in bytes.iter().enumerate() {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => {
                    in_string = false;
                    if depth == 0 {
                        return Some(i + 1);
                    }
                }
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => depth += 1,
            b']' | b'}' => {
                if depth == 0 {
                    // The end of the enclosing array: a bare value ends before it.
                    return Some(i);
                }
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            b',' if depth == 0 => return Some(i),
            byte if depth == 0 && byte.is_ascii_whitespace() && i > 0 => return Some(i),
            _ => {}
        }
    }
    None
}

/// `ItemsPointer`: the array at a JSON pointer of the document, which is read whole (the
/// engine gives the whole object in one chunk).
fn parse_pointer(
    spec: &ReaderSpec,
    cursor: &Cursor,
    chunk: &[u8],
    limit: usize,
) -> Result<Parsed, Failure> {
    let items = pointer_array(spec, chunk)?;
    Ok(pointer_items(cursor, &items, limit))
}

/// The array `ItemsPointer` points to in a whole document (the engine keeps it between rounds).
pub fn pointer_array(spec: &ReaderSpec, document: &[u8]) -> Result<Vec<Value>, Failure> {
    let pointer = spec.items_pointer.as_deref().unwrap_or_default();
    match parse_item(document)?.pointer_mut(pointer).map(Value::take) {
        Some(Value::Array(items)) => Ok(items),
        _ => Err(failed(format!(
            "The ItemsPointer '{pointer}' does not point to a JSON array"
        ))),
    }
}

/// At most `limit` items of a pointed-to array from `cursor` on.
pub fn pointer_items(cursor: &Cursor, items: &[Value], limit: usize) -> Parsed {
    let from = usize::try_from(cursor.items).unwrap_or(usize::MAX);
    let mut parsed = Parsed {
        items: Vec::new(),
        done: from.saturating_add(limit) >= items.len(),
    };
    let mut current = cursor.clone();
    for item in items.iter().skip(from).take(limit) {
        current = next_cursor(&current, 0);
        parsed.items.push((item.clone(), current.clone()));
    }
    parsed
}

/// An S3 Inventory manifest (`manifest.json`) as a reader needs it: the bucket of its data
/// files, their keys in order, and the fields of their rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub bucket: String,
    pub keys: Vec<String>,
    pub headers: Vec<String>,
}

/// Reads a manifest; AWS reads CSV inventories only.
pub fn parse_manifest(bytes: &[u8]) -> Result<Manifest, Failure> {
    let document = parse_item(bytes)?;
    if document["fileFormat"].as_str().is_some_and(|f| f != "CSV") {
        return Err(failed(format!(
            "The manifest's fileFormat is {}: only CSV inventories can be read",
            document["fileFormat"]
        )));
    }
    let bucket = document["destinationBucket"]
        .as_str()
        .map(|arn| arn.rsplit(':').next().unwrap_or(arn).to_owned())
        .ok_or_else(|| failed("The manifest names no destinationBucket"))?;
    let headers: Vec<String> = document["fileSchema"]
        .as_str()
        .ok_or_else(|| failed("The manifest has no fileSchema"))?
        .split(',')
        .map(|field| field.trim().to_owned())
        .collect();
    check_headers(&headers)?;
    let keys = document["files"]
        .as_array()
        .ok_or_else(|| failed("The manifest lists no files"))?
        .iter()
        .map(|file| {
            file["key"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| failed("A file of the manifest has no key"))
        })
        .collect::<Result<_, _>>()?;
    Ok(Manifest {
        bucket,
        keys,
        headers,
    })
}

/// An object of a listing as `s3:listObjectsV2` makes it an item (AWS's field names, `Etag`
/// with a lower-case t, the time in epoch seconds).
pub fn listed_object(
    key: &str,
    size: u64,
    etag: &str,
    last_modified_seconds: i64,
    storage_class: &str,
) -> Value {
    json!({
        "Etag": etag,
        "Key": key,
        "LastModified": last_modified_seconds,
        "Size": size,
        "StorageClass": storage_class,
    })
}

/// `ItemBatcher`: how many items, and how many bytes of them, one child gets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatcherSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_items: Option<u64>,
    /// The most bytes of a child's input (none: AWS's 256 KiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<u64>,
    /// `BatchInput`, evaluated when the Map state started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_input: Option<Value>,
}

impl BatcherSpec {
    /// A child's input: `{"BatchInput": …, "Items": […]}`.
    pub fn input(&self, items: Vec<Value>) -> Value {
        let mut input = Map::new();
        if let Some(batch_input) = &self.batch_input {
            input.insert("BatchInput".to_owned(), batch_input.clone());
        }
        input.insert("Items".to_owned(), Value::Array(items));
        Value::Object(input)
    }

    /// Whether an item of `item_bytes` joins a batch of `count` items taking `bytes`; a batch
    /// always takes its first item.
    pub fn fits(&self, count: u64, bytes: usize, item_bytes: usize) -> bool {
        if count == 0 {
            return true;
        }
        let max_bytes = self
            .max_bytes
            .and_then(|b| usize::try_from(b).ok())
            .unwrap_or(limits::MAX_PAYLOAD_BYTES)
            .min(limits::MAX_PAYLOAD_BYTES);
        // The item and the comma before it.
        self.max_items.is_none_or(|max| count < max) && bytes + item_bytes < max_bytes
    }

    /// The bytes a batch's input takes besides its items.
    pub fn overhead(&self) -> usize {
        self.input(Vec::new()).to_string().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(input_type: InputType) -> ReaderSpec {
        ReaderSpec {
            source: Source::GetObject {
                bucket: "b".into(),
                key: "k".into(),
                version_id: None,
            },
            input_type,
            csv_headers: None,
            csv_delimiter: b',',
            max_items: None,
            items_pointer: None,
        }
    }

    /// Reads `data` in chunks of `size` bytes (growing a chunk that holds no item), as the
    /// engine does, and returns the items.
    fn read_all(spec: &ReaderSpec, data: &[u8], size: usize) -> Result<Vec<Value>, Failure> {
        let mut cursor = Cursor::default();
        let mut items = Vec::new();
        let mut want = size;
        for _ in 0..10_000 {
            let start = usize::try_from(cursor.offset).unwrap_or(0);
            let end = (start + want).min(data.len());
            let at_end = end == data.len();
            let parsed = parse_object(spec, &cursor, &data[start..end], at_end, 2)?;
            if parsed.items.is_empty() && !parsed.done {
                want *= 2;
                continue;
            }
            want = size;
            for (item, next) in parsed.items {
                items.push(item);
                cursor = next;
            }
            if parsed.done {
                return Ok(items);
            }
        }
        panic!("no end")
    }

    #[test]
    fn a_json_array_is_read_element_by_element_in_any_chunks() {
        let data = br#" [ {"a": [1, {"b": "x]"}]}, "s\"t", 12, true, null , [] ] "#;
        for size in [1, 3, 7, 64] {
            let items = read_all(&spec(InputType::Json), data, size).expect("read");
            assert_eq!(
                items,
                vec![
                    json!({"a": [1, {"b": "x]"}]}),
                    json!("s\"t"),
                    json!(12),
                    json!(true),
                    Value::Null,
                    json!([])
                ]
            );
        }
        let error = read_all(&spec(InputType::Json), b"{\"a\": 1}", 4).expect_err("no array");
        assert_eq!(error.error, READER_FAILED);
    }

    #[test]
    fn lines_and_csv_rows_become_items() {
        let items =
            read_all(&spec(InputType::Jsonl), b"{\"n\":1}\n\n{\"n\":2}\n3", 5).expect("read");
        assert_eq!(items, vec![json!({"n": 1}), json!({"n": 2}), json!(3)]);
        let csv = b"id,name,note\n1,ann,\"a, b\"\n2,bob\n3,\"multi\nline\",x,extra\n";
        let items = read_all(&spec(InputType::Csv), csv, 6).expect("read");
        assert_eq!(
            items,
            vec![
                json!({"id": "1", "name": "ann", "note": "a, b"}),
                json!({"id": "2", "name": "bob", "note": ""}),
                json!({"id": "3", "name": "multi\nline", "note": "x"}),
            ]
        );
        let error = read_all(&spec(InputType::Csv), b"a,a\n1,2\n", 64).expect_err("duplicates");
        assert_eq!(error.cause, "CSV headers cannot contain duplicates.");
    }

    #[test]
    fn a_manifest_names_its_files_and_their_fields() {
        let manifest = br#"{"sourceBucket": "src", "destinationBucket": "arn:aws:s3:::inv",
            "fileFormat": "CSV", "fileSchema": "Bucket, Key, Size",
            "files": [{"key": "data/1.csv.gz", "size": 10}, {"key": "data/2.csv.gz", "size": 9}]}"#;
        let read = parse_manifest(manifest).expect("manifest");
        assert_eq!(read.bucket, "inv");
        assert_eq!(read.keys, ["data/1.csv.gz", "data/2.csv.gz"]);
        assert_eq!(read.headers, ["Bucket", "Key", "Size"]);
        let orc =
            br#"{"destinationBucket": "x", "fileFormat": "ORC", "fileSchema": "a", "files": []}"#;
        assert_eq!(parse_manifest(orc).expect_err("orc").error, READER_FAILED);
        let mut spec = spec(InputType::Manifest);
        spec.csv_headers = Some(read.headers);
        let items = read_all(
            &spec,
            b"\"src\",\"a.txt\",\"12\"\n\"src\",\"b c\",\"3\"\n",
            8,
        )
        .expect("rows");
        assert_eq!(
            items,
            vec![
                json!({"Bucket": "src", "Key": "a.txt", "Size": "12"}),
                json!({"Bucket": "src", "Key": "b c", "Size": "3"}),
            ]
        );
    }

    #[test]
    fn batches_fill_by_count_and_bytes() {
        let batcher = BatcherSpec {
            max_items: Some(2),
            max_bytes: None,
            batch_input: Some(json!({"k": 1})),
        };
        assert!(batcher.fits(0, 0, 10));
        assert!(batcher.fits(1, 10, 10));
        assert!(!batcher.fits(2, 20, 10));
        assert_eq!(
            batcher.input(vec![json!(1)]),
            json!({"BatchInput": {"k": 1}, "Items": [1]})
        );
        let by_bytes = BatcherSpec {
            max_items: None,
            max_bytes: Some(25),
            batch_input: None,
        };
        assert!(by_bytes.fits(1, 10, 10));
        assert!(!by_bytes.fits(2, 20, 10));
    }
}
