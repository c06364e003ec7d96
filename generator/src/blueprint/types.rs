//! A field's type from what its phrase said and the words of its name.
//!
//! What the phrase said outright wins over what the name suggests: an explicit type in
//! parentheses, enum values, a yes/no shape ("whether …", "… flag"), a timestamp verb ("starts at"),
//! money (a currency or a money word), a count ("number of …"), a unit ("in minutes"), a list
//! ("list of …") and a range ("from 1 to 5"). Otherwise the last word of the name decides, then
//! any word of it (e-mail, dates), and anything else is text.

use super::words::singular;
use appgen_crd::FieldType;

/// What a field phrase said about its type, apart from its name.
#[derive(Debug, Default)]
pub(super) struct Hints {
    pub(super) explicit: Option<FieldType>,
    pub(super) values: Vec<String>,
    pub(super) boolean: bool,
    /// "starts at" is a timestamp, "published on" a date.
    pub(super) suffix: Option<FieldType>,
    pub(super) money: bool,
    pub(super) count: bool,
    pub(super) list: bool,
    pub(super) unit: Option<FieldType>,
    pub(super) min: Option<f64>,
    pub(super) max: Option<f64>,
    pub(super) required: Option<bool>,
}

impl Hints {
    /// Whether the phrase said enough about its type that a name matching an entity is still
    /// read as that type rather than as a reference ("number of books" counts books).
    pub(super) fn decides_type(&self) -> bool {
        self.explicit.is_some()
            || self.values.len() >= 2
            || self.boolean
            || self.suffix.is_some()
            || self.money
            || self.count
            || self.list
            || self.unit.is_some()
            || self.min.is_some()
            || self.max.is_some()
    }
}

pub(super) fn infer(words: &[String], hints: &Hints) -> FieldType {
    use appgen_crd::FieldType::*;
    let by_name = by_name(words);
    if let Some(explicit) = hints.explicit {
        return explicit;
    }
    if hints.values.len() >= 2 {
        return Enum;
    }
    if hints.boolean {
        return Boolean;
    }
    if let Some(suffix) = hints.suffix {
        return suffix;
    }
    if hints.money || by_name == Some(Money) {
        return Money;
    }
    if hints.count {
        return Integer;
    }
    if let Some(unit) = hints.unit {
        return unit;
    }
    if hints.list {
        return LongText;
    }
    if hints.min.is_some() || hints.max.is_some() {
        return match by_name {
            Some(numeric @ (Number | Integer)) => numeric,
            _ => {
                let whole = [hints.min, hints.max].iter().flatten().all(|n| n.fract() == 0.0);
                if whole { Integer } else { Number }
            }
        };
    }
    by_name.unwrap_or(Text)
}

/// The type the words of a name suggest, if any.
fn by_name(words: &[String]) -> Option<FieldType> {
    use appgen_crd::FieldType::*;
    let head = words.last()?.as_str();
    let before = words.len().checked_sub(2).map_or("", |i| words[i].as_str());
    let one = singular(head);
    let is = |f: fn(&str) -> bool| f(head) || f(&one);
    if words.iter().any(|w| w == "email") {
        return Some(Email);
    }
    if is(is_url_word) || (head == "address" && matches!(before, "web" | "website" | "url")) {
        return Some(Url);
    }
    if matches!(head, "date-time" | "datetime" | "timestamp") {
        return Some(Datetime);
    }
    if head == "time" {
        if is_timestamp_modifier(before) {
            return Some(Datetime);
        }
        return Some(if is_duration_modifier(before) {
            Integer
        } else {
            Text
        });
    }
    if words.len() == 1 && matches!(head, "start" | "end") {
        return Some(Datetime);
    }
    if head == "number" {
        return Some(if is_identifier_number(before) {
            Text
        } else {
            Integer
        });
    }
    if head == "rate"
        && matches!(
            before,
            "hourly" | "daily" | "nightly" | "weekly" | "monthly" | "day"
        )
    {
        return Some(Money);
    }
    if is(is_money_word) || (head == "due" && is_money_word(before)) {
        return Some(Money);
    }
    if is(is_integer_word) {
        return Some(Integer);
    }
    if is(is_number_word) {
        return Some(Number);
    }
    if is(is_long_text_word) {
        return Some(LongText);
    }
    if is(is_date_word) || words.iter().any(|w| is_date_word(w)) {
        return Some(Date);
    }
    // "pages read", "minutes slept": the quantity before the verb says what is counted.
    if is_integer_word(before) || is_number_word(before) {
        return Some(if is_integer_word(before) { Integer } else { Number });
    }
    if words.iter().all(|w| is_boolean_word(w)) {
        return Some(Boolean);
    }
    None
}

/// Whether a word names something a field could be, for telling "a todo app with due dates and
/// priorities" (fields) from "a todo app with tasks and projects" (entities).
pub(super) fn is_field_word(w: &str) -> bool {
    let one = singular(w);
    [w, one.as_str()].iter().any(|w| {
        is_url_word(w)
            || is_money_word(w)
            || is_integer_word(w)
            || is_number_word(w)
            || is_long_text_word(w)
            || is_date_word(w)
            || is_boolean_word(w)
            || matches!(
                *w,
                "name"
                    | "title"
                    | "email"
                    | "phone"
                    | "address"
                    | "status"
                    | "category"
                    | "tag"
                    | "label"
                    | "color"
                    | "type"
                    | "kind"
                    | "genre"
                    | "month"
                    | "time"
                    | "date-time"
                    | "timestamp"
                    | "location"
                    | "city"
                    | "country"
                    | "company"
                    | "author"
                    | "size"
                    | "brand"
                    | "model"
                    | "isbn"
                    | "sku"
                    | "code"
                    | "number"
                    | "gender"
                    | "unit"
            )
    })
}

fn is_url_word(w: &str) -> bool {
    matches!(
        w,
        "url"
            | "link"
            | "website"
            | "homepage"
            | "webpage"
            | "image"
            | "photo"
            | "picture"
            | "avatar"
            | "thumbnail"
            | "logo"
            | "screenshot"
    )
}

fn is_money_word(w: &str) -> bool {
    matches!(
        w,
        "price"
            | "cost"
            | "amount"
            | "budget"
            | "limit"
            | "salary"
            | "wage"
            | "fee"
            | "payment"
            | "balance"
            | "revenue"
            | "income"
            | "expense"
            | "spend"
            | "spending"
            | "rent"
            | "tip"
            | "deposit"
            | "total"
            | "subtotal"
            | "charge"
            | "pay"
            | "earnings"
            | "profit"
            | "worth"
            | "donation"
            | "refund"
            | "tuition"
            | "fare"
            | "bid"
    )
}

fn is_integer_word(w: &str) -> bool {
    matches!(
        w,
        "count"
            | "quantity"
            | "qty"
            | "pages"
            | "page"
            | "age"
            | "rating"
            | "score"
            | "year"
            | "stock"
            | "servings"
            | "calories"
            | "reps"
            | "sets"
            | "minutes"
            | "seconds"
            | "days"
            | "weeks"
            | "years"
            | "priority"
            | "rank"
            | "ranking"
            | "position"
            | "level"
            | "capacity"
            | "seats"
            | "copies"
            | "likes"
            | "views"
            | "votes"
            | "points"
            | "goals"
            | "attendees"
            | "guests"
            | "floor"
            | "chapter"
            | "duration"
            | "laps"
            | "credits"
            | "tempo"
    )
}

fn is_number_word(w: &str) -> bool {
    matches!(
        w,
        "weight"
            | "height"
            | "distance"
            | "length"
            | "width"
            | "depth"
            | "temperature"
            | "percentage"
            | "percent"
            | "rate"
            | "ratio"
            | "latitude"
            | "longitude"
            | "lat"
            | "lng"
            | "lon"
            | "volume"
            | "speed"
            | "pace"
            | "bmi"
            | "hours"
            | "mileage"
            | "altitude"
            | "elevation"
            | "area"
            | "progress"
            | "gpa"
    )
}

fn is_long_text_word(w: &str) -> bool {
    matches!(
        w,
        "notes"
            | "note"
            | "description"
            | "ingredients"
            | "instructions"
            | "directions"
            | "steps"
            | "method"
            | "bio"
            | "biography"
            | "content"
            | "body"
            | "comment"
            | "comments"
            | "summary"
            | "details"
            | "review"
            | "text"
            | "message"
            | "remarks"
            | "feedback"
            | "lyrics"
            | "abstract"
            | "story"
            | "synopsis"
            | "plot"
            | "thoughts"
            | "reflection"
            | "memo"
            | "explanation"
            | "requirements"
            | "agenda"
            | "symptoms"
            | "transcript"
            | "excerpt"
    )
}

fn is_date_word(w: &str) -> bool {
    matches!(
        w,
        "date"
            | "deadline"
            | "birthday"
            | "birthdate"
            | "dob"
            | "due"
            | "anniversary"
            | "expiry"
            | "expiration"
    )
}

fn is_boolean_word(w: &str) -> bool {
    matches!(
        w,
        "done"
            | "completed"
            | "complete"
            | "finished"
            | "active"
            | "archived"
            | "paid"
            | "read"
            | "published"
            | "visible"
            | "enabled"
            | "favorite"
            | "public"
            | "private"
            | "available"
            | "verified"
            | "featured"
            | "pinned"
            | "approved"
            | "confirmed"
            | "shipped"
            | "delivered"
            | "sold"
            | "watched"
            | "returned"
            | "attended"
            | "canceled"
            | "cancelled"
            | "hidden"
            | "locked"
            | "starred"
            | "urgent"
            | "important"
            | "flagged"
            | "resolved"
            | "online"
            | "checked"
            | "owned"
            | "borrowed"
            | "signed"
            | "vegetarian"
            | "vegan"
            | "recurring"
            | "billable"
            | "taxable"
            | "refundable"
            | "married"
            | "subscribed"
            | "seen"
            | "liked"
            | "accepted"
            | "rejected"
            | "submitted"
            | "sent"
            | "received"
            | "packed"
            | "booked"
            | "reviewed"
            | "closed"
            | "blocked"
            | "answered"
            | "visited"
            | "tried"
            | "cooked"
    )
}

/// "start time" is a moment; "cooking time" is a duration.
fn is_timestamp_modifier(w: &str) -> bool {
    matches!(
        w,
        "start"
            | "end"
            | "arrival"
            | "departure"
            | "pickup"
            | "dropoff"
            | "meeting"
            | "appointment"
            | "due"
            | "delivery"
            | "check-in"
            | "checkin"
            | "checkout"
            | "check-out"
            | "booking"
            | "event"
            | "opening"
            | "closing"
            | "release"
            | "reminder"
    )
}

fn is_duration_modifier(w: &str) -> bool {
    matches!(
        w,
        "cooking"
            | "cook"
            | "prep"
            | "preparation"
            | "reading"
            | "running"
            | "run"
            | "travel"
            | "total"
            | "wait"
            | "waiting"
            | "response"
            | "play"
            | "screen"
            | "study"
            | "practice"
            | "work"
            | "workout"
            | "exercise"
            | "baking"
            | "bake"
            | "rest"
            | "lead"
    )
}

/// "phone number" and "order number" identify something; "number" alone counts.
fn is_identifier_number(w: &str) -> bool {
    matches!(
        w,
        "phone"
            | "telephone"
            | "mobile"
            | "cell"
            | "fax"
            | "account"
            | "card"
            | "serial"
            | "reference"
            | "order"
            | "invoice"
            | "tracking"
            | "vat"
            | "tax"
            | "id"
            | "passport"
            | "license"
            | "registration"
            | "house"
            | "room"
            | "flat"
            | "apartment"
            | "unit"
            | "model"
            | "part"
            | "policy"
            | "ticket"
            | "contact"
            | "member"
            | "membership"
            | "isbn"
            | "security"
            | "routing"
            | "bank"
            | "street"
            | "version"
            | "case"
            | "file"
    )
}

/// The type a unit gives a quantity: "in minutes" counts, "in km" measures, "in euros" is money.
pub(super) fn unit_type(w: &str) -> Option<FieldType> {
    use appgen_crd::FieldType::*;
    Some(match w {
        "minutes" | "minute" | "mins" | "min" | "seconds" | "second" | "secs" | "sec" | "days" | "day"
        | "weeks" | "week" | "months" | "years" | "steps" | "pages" | "bpm" => Integer,
        "hours" | "hour" | "hrs" | "hr" | "km" | "kilometers" | "kilometer" | "miles" | "mile" | "meters"
        | "meter" | "m" | "cm" | "centimeters" | "mm" | "inches" | "inch" | "feet" | "foot" | "ft" | "kg"
        | "kilograms" | "kilogram" | "g" | "grams" | "gram" | "lbs" | "lb" | "pounds" | "pound" | "oz"
        | "ounces" | "liters" | "liter" | "l" | "ml" | "milliliters" | "gallons" | "celsius"
        | "fahrenheit" | "degrees" | "percent" => Number,
        "dollars" | "dollar" | "euros" | "euro" | "usd" | "eur" | "gbp" | "cents" | "yen" | "rupees"
        | "$" => Money,
        _ => return None,
    })
}

/// A type named outright in parentheses: "a count (integer)", "bio (long text)".
pub(super) fn explicit_type(words: &[&str]) -> Option<FieldType> {
    use appgen_crd::FieldType::*;
    Some(match words {
        ["text" | "string"] | ["short", "text"] => Text,
        ["long", "text"] | ["longtext" | "paragraph" | "multiline" | "textarea"] => LongText,
        ["number" | "decimal" | "float"] => Number,
        ["integer" | "int"] | ["whole", "number"] => Integer,
        ["money" | "currency"] => Money,
        ["boolean" | "bool" | "checkbox"] => Boolean,
        ["date"] => Date,
        ["datetime" | "date-time" | "timestamp"] => Datetime,
        ["email"] => Email,
        ["url" | "link"] => Url,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use appgen_crd::FieldType::*;

    fn named(name: &str) -> FieldType {
        let words: Vec<String> = name.split(' ').map(str::to_owned).collect();
        infer(&words, &Hints::default())
    }

    #[test]
    fn names_suggest_types() {
        for (name, expected) in [
            ("title", Text),
            ("due date", Date),
            ("deadline", Date),
            ("birth date", Date),
            ("email", Email),
            ("email address", Email),
            ("website", Url),
            ("photo", Url),
            ("web address", Url),
            ("price", Money),
            ("prices", Money),
            ("monthly limit", Money),
            ("hourly rate", Money),
            ("pages", Integer),
            ("age", Integer),
            ("number", Integer),
            ("phone number", Text),
            ("weight", Number),
            ("ingredients", LongText),
            ("notes", LongText),
            ("done", Boolean),
            ("start time", Datetime),
            ("cooking time", Integer),
            ("time", Text),
            ("timestamp", Datetime),
            ("start", Datetime),
            ("month", Text),
            ("category", Text),
            ("amount due", Money),
            ("pages read", Integer),
            ("hours slept", Number),
        ] {
            assert_eq!(named(name), expected, "{name}");
        }
    }

    #[test]
    fn what_the_phrase_says_beats_the_name() {
        let words = vec!["rating".to_owned()];
        let values = Hints {
            values: vec!["good".into(), "bad".into()],
            ..Hints::default()
        };
        assert_eq!(infer(&words, &values), Enum);
        let range = Hints {
            min: Some(0.5),
            max: Some(2.0),
            ..Hints::default()
        };
        assert_eq!(infer(&["strength".to_owned()], &range), Number);
        let range = Hints {
            min: Some(1.0),
            max: Some(10.0),
            ..Hints::default()
        };
        assert_eq!(infer(&["strength".to_owned()], &range), Integer);
        let money = Hints {
            money: true,
            ..Hints::default()
        };
        assert_eq!(infer(&["tax".to_owned()], &money), Money);
        let unit = Hints {
            unit: Some(Integer),
            ..Hints::default()
        };
        assert_eq!(infer(&["cooking".to_owned(), "time".to_owned()], &unit), Integer);
    }
}
