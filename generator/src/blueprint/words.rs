//! Words: folding to lower-case ASCII with American spelling, singular and plural, and the
//! identifiers names become. Identifiers are built here and only here, so every name
//! `understand` produces matches `^[A-Za-z][A-Za-z0-9]*$` and fits in 63 characters.

use super::check::MAX_NAME_CHARS;
use super::lexicon::{is_container_head, is_loose_adjective, is_stopword};

/// The form every rule matches against: lower case, Latin accents folded ("Café" → "cafe"),
/// British spelling made American ("colours" → "colors"). Characters outside Latin script are
/// dropped, so a word written only in them normalises to "" and is never part of a name.
pub(super) fn normalise(raw: &str) -> String {
    let mut folded = String::with_capacity(raw.len());
    for c in raw.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() || matches!(c, '\'' | '-' | '_' | '.') {
            folded.push(c);
        } else if let Some(ascii) = latin(c) {
            folded.push_str(ascii);
        }
    }
    american(&folded).unwrap_or(folded)
}

fn latin(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'č' => "c",
        'ď' | 'đ' | 'ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => "e",
        'ğ' => "g",
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' | 'ı' => "i",
        'ł' => "l",
        'ñ' | 'ń' | 'ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => "o",
        'œ' => "oe",
        'ř' => "r",
        'ś' | 'š' | 'ş' => "s",
        'ß' => "ss",
        'ť' | 'ţ' => "t",
        'þ' => "th",
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' | 'ų' => "u",
        'ý' | 'ÿ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        _ => return None,
    })
}

/// The American spelling of a British word, also in the plural ("catalogues" → "catalogs").
fn american(w: &str) -> Option<String> {
    if let Some(us) = british(w) {
        return Some(us.to_owned());
    }
    let stem = w.strip_suffix('s')?;
    british(stem).map(|us| format!("{us}s"))
}

fn british(w: &str) -> Option<&'static str> {
    Some(match w {
        "colour" => "color",
        "favourite" => "favorite",
        "favour" => "favor",
        "behaviour" => "behavior",
        "neighbour" => "neighbor",
        "labour" => "labor",
        "honour" => "honor",
        "flavour" => "flavor",
        "humour" => "humor",
        "harbour" => "harbor",
        "rumour" => "rumor",
        "armour" => "armor",
        "odour" => "odor",
        "savoury" => "savory",
        "tumour" => "tumor",
        "catalogue" => "catalog",
        "catalogued" => "cataloged",
        "cataloguing" => "cataloging",
        "dialogue" => "dialog",
        "analogue" => "analog",
        "centre" => "center",
        "metre" => "meter",
        "litre" => "liter",
        "theatre" => "theater",
        "fibre" => "fiber",
        "kilometre" => "kilometer",
        "centimetre" => "centimeter",
        "millimetre" => "millimeter",
        "millilitre" => "milliliter",
        "organise" => "organize",
        "organised" => "organized",
        "organising" => "organizing",
        "organisation" => "organization",
        "organiser" => "organizer",
        "prioritise" => "prioritize",
        "prioritised" => "prioritized",
        "categorise" => "categorize",
        "categorised" => "categorized",
        "customise" => "customize",
        "personalise" => "personalize",
        "finalise" => "finalize",
        "finalised" => "finalized",
        "analyse" => "analyze",
        "recognise" => "recognize",
        "summarise" => "summarize",
        "authorise" => "authorize",
        "authorised" => "authorized",
        "authorisation" => "authorization",
        "optimise" => "optimize",
        "visualise" => "visualize",
        "specialise" => "specialize",
        "utilise" => "utilize",
        "realise" => "realize",
        "cheque" => "check",
        "programme" => "program",
        "licence" => "license",
        "defence" => "defense",
        "offence" => "offense",
        "grey" => "gray",
        "tyre" => "tire",
        "jewellery" => "jewelry",
        "aluminium" => "aluminum",
        "travelling" => "traveling",
        "traveller" => "traveler",
        "modelling" => "modeling",
        "labelled" => "labeled",
        "enrolment" => "enrollment",
        "judgement" => "judgment",
        "ageing" => "aging",
        "mould" => "mold",
        "pyjamas" => "pajamas",
        "cosy" => "cozy",
        "draught" => "draft",
        "manoeuvre" => "maneuver",
        "aeroplane" => "airplane",
        "enquiry" => "inquiry",
        "e-mail" => "email",
        _ => return None,
    })
}

/// The singular of an English noun: "categories" → "category", "people" → "person",
/// "statuses" → "status". A word that is not plural comes back unchanged.
pub(super) fn singular(w: &str) -> String {
    if let Some(one) = irregular_singular(w) {
        return one.to_owned();
    }
    let keep = w.len() <= 2
        || !w.ends_with('s')
        || w.ends_with("ss")
        || w.ends_with("us")
        || w.ends_with("is")
        || w.ends_with("'s")
        || unchanged_in_plural(w);
    if keep {
        return w.to_owned();
    }
    if let Some(stem) = w.strip_suffix("ies") {
        return if ends_in_ie(w) {
            format!("{stem}ie")
        } else {
            format!("{stem}y")
        };
    }
    if let Some(stem) = w.strip_suffix("es") {
        let sibilant = stem.ends_with("ss")
            || stem.ends_with('x')
            || stem.ends_with("zz")
            || stem.ends_with("sh")
            || (stem.ends_with("ch") && !ends_in_che(w))
            || (stem.ends_with('o') && !ends_in_oe(w));
        if sibilant {
            return stem.to_owned();
        }
    }
    w[..w.len() - 1].to_owned()
}

fn irregular_singular(w: &str) -> Option<&'static str> {
    Some(match w {
        "people" => "person",
        "men" => "man",
        "women" => "woman",
        "children" => "child",
        "mice" => "mouse",
        "geese" => "goose",
        "feet" => "foot",
        "teeth" => "tooth",
        "oxen" => "ox",
        "dice" => "die",
        "criteria" => "criterion",
        "phenomena" => "phenomenon",
        "analyses" => "analysis",
        "theses" => "thesis",
        "diagnoses" => "diagnosis",
        "crises" => "crisis",
        "hypotheses" => "hypothesis",
        "synopses" => "synopsis",
        "oases" => "oasis",
        "indices" => "index",
        "matrices" => "matrix",
        "vertices" => "vertex",
        "appendices" => "appendix",
        "cacti" => "cactus",
        "fungi" => "fungus",
        "alumni" => "alumnus",
        "radii" => "radius",
        "stimuli" => "stimulus",
        "syllabi" => "syllabus",
        "quizzes" => "quiz",
        "statuses" => "status",
        "buses" => "bus",
        "bonuses" => "bonus",
        "campuses" => "campus",
        "viruses" => "virus",
        "censuses" => "census",
        "focuses" => "focus",
        "circuses" => "circus",
        "choruses" => "chorus",
        "geniuses" => "genius",
        "surpluses" => "surplus",
        "octopuses" => "octopus",
        "prospectuses" => "prospectus",
        "lotuses" => "lotus",
        "apparatuses" => "apparatus",
        "menus" => "menu",
        "gurus" => "guru",
        "emus" => "emu",
        "haikus" => "haiku",
        "taxis" => "taxi",
        "skis" => "ski",
        "kiwis" => "kiwi",
        "wikis" => "wiki",
        "emojis" => "emoji",
        "bikinis" => "bikini",
        "safaris" => "safari",
        "martinis" => "martini",
        "leaves" => "leaf",
        "knives" => "knife",
        "wives" => "wife",
        "lives" => "life",
        "shelves" => "shelf",
        "halves" => "half",
        "wolves" => "wolf",
        "thieves" => "thief",
        "loaves" => "loaf",
        "calves" => "calf",
        "elves" => "elf",
        "scarves" => "scarf",
        "hooves" => "hoof",
        _ => return None,
    })
}

fn unchanged_in_plural(w: &str) -> bool {
    matches!(
        w,
        "series"
            | "species"
            | "news"
            | "means"
            | "goods"
            | "clothes"
            | "pants"
            | "jeans"
            | "scissors"
            | "trousers"
            | "shorts"
            | "pajamas"
            | "physics"
            | "mathematics"
            | "economics"
            | "athletics"
            | "gymnastics"
            | "politics"
            | "ethics"
            | "analytics"
            | "lens"
            | "canvas"
            | "atlas"
            | "alias"
            | "gas"
            | "bias"
            | "christmas"
            | "chaos"
            | "cosmos"
            | "ethos"
            | "kudos"
            | "thermos"
            | "gps"
            | "sms"
            | "dns"
            | "ios"
            | "aws"
    )
}

fn ends_in_ie(w: &str) -> bool {
    matches!(
        w,
        "movies"
            | "cookies"
            | "zombies"
            | "calories"
            | "rookies"
            | "selfies"
            | "smoothies"
            | "brownies"
            | "hoodies"
            | "pies"
            | "ties"
            | "lies"
            | "goalies"
            | "aunties"
            | "newbies"
            | "genies"
            | "freebies"
            | "veggies"
            | "birdies"
            | "prairies"
            | "lingeries"
            | "walkies"
            | "techies"
            | "foodies"
            | "hippies"
    )
}

fn ends_in_che(w: &str) -> bool {
    matches!(
        w,
        "caches"
            | "niches"
            | "headaches"
            | "quiches"
            | "moustaches"
            | "mustaches"
            | "avalanches"
            | "cliches"
            | "psyches"
            | "creches"
            | "aches"
    )
}

fn ends_in_oe(w: &str) -> bool {
    matches!(
        w,
        "shoes" | "toes" | "canoes" | "hoes" | "foes" | "oboes" | "floes" | "woes" | "tiptoes" | "horseshoes"
    )
}

/// The plural of an English noun, for titles: "meal plan" → "meal plans", "category" → "categories".
pub(super) fn plural(w: &str) -> String {
    let irregular = match w {
        "person" => Some("people"),
        "man" => Some("men"),
        "woman" => Some("women"),
        "child" => Some("children"),
        "mouse" => Some("mice"),
        "criterion" => Some("criteria"),
        "analysis" => Some("analyses"),
        _ => None,
    };
    if let Some(many) = irregular {
        return many.to_owned();
    }
    if unchanged_in_plural(w) {
        return w.to_owned();
    }
    let consonant_y = w.ends_with('y') && !w.ends_with("ay") && !w.ends_with("ey") && !w.ends_with("oy");
    if consonant_y && !w.ends_with("uy") {
        return format!("{}ies", &w[..w.len() - 1]);
    }
    let sibilant = ["s", "x", "z", "ch", "sh"].iter().any(|end| w.ends_with(end));
    if sibilant {
        format!("{w}es")
    } else {
        format!("{w}s")
    }
}

/// The words of a noun phrase that name an entity, singular: "my monthly budgets" → `budget`,
/// "my book collection" → `book`, "meal plans" → `meal plan`. At most three words, so a run-on
/// phrase cannot make a run-on name; empty when nothing in the phrase names a thing.
pub(super) fn entity_words<S: AsRef<str>>(noun: &[S]) -> Vec<String> {
    let mut words: Vec<&str> = noun
        .iter()
        .map(AsRef::as_ref)
        .filter(|w| {
            w.starts_with(|c: char| c.is_ascii_alphabetic())
                && !is_stopword(w)
                && !is_loose_adjective(w)
                && !w.ends_with("'s")
                && !w.ends_with("s'")
        })
        .collect();
    if words.len() >= 2 && words.last().is_some_and(|w| is_container_head(w)) {
        words.pop();
    }
    let skip = words.len().saturating_sub(3);
    let mut words: Vec<String> = words[skip..].iter().map(|w| (*w).to_owned()).collect();
    if let Some(last) = words.last_mut() {
        *last = singular(last);
    }
    words
}

/// `["meal", "plan"]` → `MealPlan`; "" when the words hold no ASCII letters.
pub(super) fn pascal_case<S: AsRef<str>>(words: &[S]) -> String {
    let mut name = String::new();
    let parts = words
        .iter()
        .flat_map(|w| w.as_ref().split(|c: char| !c.is_ascii_alphanumeric()));
    // An identifier cannot start with a digit: "3d model" is a `Model`.
    for part in parts.skip_while(|p| !p.starts_with(|c: char| c.is_ascii_alphabetic())) {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            name.push(first.to_ascii_uppercase());
            name.extend(chars.map(|c| c.to_ascii_lowercase()));
        }
    }
    name.truncate(MAX_NAME_CHARS);
    name
}

/// `["due", "date"]` → `dueDate`; "" when the words hold no ASCII letters.
pub(super) fn camel_case<S: AsRef<str>>(words: &[S]) -> String {
    lower_first(&pascal_case(words))
}

/// `MealPlan` → `mealPlan`: the field name of a reference to an entity.
pub(super) fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// `MealPlan` → `["meal", "plan"]`.
pub(super) fn split_pascal(name: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for c in name.chars() {
        match words.last_mut() {
            Some(word) if !c.is_ascii_uppercase() => word.push(c),
            _ => words.push(c.to_ascii_lowercase().to_string()),
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals_become_singular() {
        for (many, one) in [
            ("tasks", "task"),
            ("categories", "category"),
            ("classes", "class"),
            ("people", "person"),
            ("statuses", "status"),
            ("boxes", "box"),
            ("matches", "match"),
            ("dishes", "dish"),
            ("heroes", "hero"),
            ("shoes", "shoe"),
            ("movies", "movie"),
            ("houses", "house"),
            ("courses", "course"),
            ("expenses", "expense"),
            ("leaves", "leaf"),
            ("gloves", "glove"),
            ("caches", "cache"),
            ("quizzes", "quiz"),
            ("addresses", "address"),
            ("analyses", "analysis"),
            ("children", "child"),
            ("ideas", "idea"),
            ("photos", "photo"),
            ("days", "day"),
            ("menus", "menu"),
        ] {
            assert_eq!(singular(many), one, "{many}");
        }
    }

    #[test]
    fn singular_words_stay_as_they_are() {
        for word in [
            "status", "class", "business", "analysis", "series", "news", "bus", "canvas", "task",
        ] {
            assert_eq!(singular(word), word);
        }
    }

    #[test]
    fn singular_words_become_plural() {
        for (one, many) in [
            ("task", "tasks"),
            ("category", "categories"),
            ("day", "days"),
            ("class", "classes"),
            ("box", "boxes"),
            ("person", "people"),
            ("match", "matches"),
        ] {
            assert_eq!(plural(one), many);
        }
    }

    #[test]
    fn british_spelling_and_accents_fold_to_one_form() {
        assert_eq!(normalise("Colours"), "colors");
        assert_eq!(normalise("CATALOGUE"), "catalog");
        assert_eq!(normalise("Favourite"), "favorite");
        assert_eq!(normalise("organised"), "organized");
        assert_eq!(normalise("Café"), "cafe");
        assert_eq!(normalise("Straße"), "strasse");
        assert_eq!(normalise("E-mail"), "email");
        assert_eq!(normalise("书"), "");
        assert_eq!(normalise("كتاب"), "");
    }

    #[test]
    fn identifiers_hold_only_ascii_letters_and_digits_and_never_start_with_a_digit() {
        assert_eq!(pascal_case(&["meal", "plan"]), "MealPlan");
        assert_eq!(camel_case(&["due", "date"]), "dueDate");
        assert_eq!(camel_case(&["due_date"]), "dueDate");
        assert_eq!(pascal_case(&["to-do"]), "ToDo");
        assert_eq!(camel_case(&["3d", "model"]), "model");
        assert_eq!(camel_case(&["mp3", "file"]), "mp3File");
        assert_eq!(camel_case(&["__proto__"]), "proto");
        assert_eq!(camel_case(&["../etc/passwd"]), "etcPasswd");
        assert_eq!(camel_case(&["42"]), "");
        assert_eq!(pascal_case(&["a".repeat(200)]).len(), MAX_NAME_CHARS);
    }

    #[test]
    fn entity_words_drop_articles_adjectives_and_containers() {
        assert_eq!(entity_words(&["my", "monthly", "budgets"]), ["budget"]);
        assert_eq!(entity_words(&["book", "collection"]), ["book"]);
        assert_eq!(entity_words(&["each", "meal", "plans"]), ["meal", "plan"]);
        assert_eq!(entity_words(&["the", "user's", "tasks"]), ["task"]);
        assert!(entity_words(&["my", "new"]).is_empty());
    }

    #[test]
    fn pascal_names_split_back_into_words() {
        assert_eq!(split_pascal("MealPlan"), ["meal", "plan"]);
        assert_eq!(split_pascal("Task"), ["task"]);
    }
}
