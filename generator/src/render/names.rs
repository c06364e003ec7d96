//! How identifiers from the blueprint become words people read and URL segments:
//! `MealPlan` → "Meal Plan", "Meal Plans", `meal-plans`; `dueDate` → "Due date".

/// Words that read better in capitals inside a label.
const ACRONYMS: &[&str] = &[
    "api", "bic", "css", "gps", "html", "iban", "id", "ip", "isbn", "pdf", "sku", "sms", "url", "uuid",
    "vat", "vin",
];

/// Nouns whose plural is not made by a rule (singular, plural), in lower case.
const IRREGULAR: &[(&str, &str)] = &[
    ("analysis", "analyses"),
    ("child", "children"),
    ("criterion", "criteria"),
    ("foot", "feet"),
    ("goose", "geese"),
    ("half", "halves"),
    ("knife", "knives"),
    ("leaf", "leaves"),
    ("life", "lives"),
    ("man", "men"),
    ("mouse", "mice"),
    ("ox", "oxen"),
    ("person", "people"),
    ("shelf", "shelves"),
    ("thief", "thieves"),
    ("tooth", "teeth"),
    ("wife", "wives"),
    ("wolf", "wolves"),
    ("woman", "women"),
];

/// Nouns with no plural of their own.
const UNCOUNTABLE: &[&str] = &[
    "data",
    "deer",
    "equipment",
    "feedback",
    "fish",
    "information",
    "money",
    "news",
    "series",
    "sheep",
    "software",
    "species",
    "staff",
];

/// Nouns ending in a consonant and `o` that take `-es`.
const O_ES: &[&str] = &["echo", "hero", "potato", "tomato", "veto"];

/// Splits a camelCase or PascalCase identifier into words: `URLLink` → `URL`, `Link`.
pub fn words(identifier: &str) -> Vec<String> {
    let chars: Vec<char> = identifier.chars().filter(char::is_ascii_alphanumeric).collect();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let previous = i.checked_sub(1).and_then(|p| chars.get(p));
        let next = chars.get(i + 1);
        let starts_word = c.is_ascii_uppercase()
            && previous.is_some_and(|p| {
                p.is_ascii_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_ascii_uppercase() && next.is_some_and(char::is_ascii_lowercase))
            });
        if starts_word && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        word.push(c);
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// An entity's name for people: `MealPlan` → "Meal Plan".
pub fn entity_label(name: &str) -> String {
    words(name)
        .iter()
        .map(|word| capitalize(word))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The plural of an entity's label: `MealPlan` → "Meal Plans", `Person` → "People".
pub fn entity_plural_label(name: &str) -> String {
    let mut words: Vec<String> = words(name).iter().map(|word| capitalize(word)).collect();
    if let Some(last) = words.last_mut() {
        *last = pluralize(last);
    }
    words.join(" ")
}

/// A field's label in sentence case: `dueDate` → "Due date", `isbn` → "ISBN".
pub fn field_label(name: &str) -> String {
    words(name)
        .iter()
        .enumerate()
        .map(|(i, word)| {
            if is_acronym(word) {
                word.to_ascii_uppercase()
            } else if i == 0 {
                capitalize(&word.to_ascii_lowercase())
            } else {
                word.to_ascii_lowercase()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The URL segment of an entity's collection: `MealPlan` → `meal-plans`.
pub fn collection_path(name: &str) -> String {
    entity_plural_label(name).to_ascii_lowercase().replace(' ', "-")
}

/// A valid npm package name from the app's name (a DNS label, but never trusted to be one).
pub fn package_name(app_name: &str) -> String {
    let mut name = String::new();
    for c in app_name.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            name.push(c);
        } else if !name.is_empty() && !name.ends_with('-') {
            name.push('-');
        }
    }
    let name = name.trim_end_matches('-');
    if name.is_empty() {
        "app".to_owned()
    } else {
        name.chars().take(63).collect()
    }
}

/// A title made from the app's name, for an app that has none: `meal-planner` → "Meal Planner".
pub fn title_from_name(app_name: &str) -> String {
    package_name(app_name)
        .split('-')
        .map(capitalize)
        .collect::<Vec<_>>()
        .join(" ")
}

fn is_acronym(word: &str) -> bool {
    let all_capitals = word.len() > 1 && word.chars().all(|c| !c.is_ascii_lowercase());
    all_capitals || ACRONYMS.contains(&word.to_ascii_lowercase().as_str())
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// English plural of one word, keeping its capitalisation (`Box` → `Boxes`, `URL` → `URLs`).
fn pluralize(word: &str) -> String {
    let lower = word.to_ascii_lowercase();
    if word.len() > 1 && word.chars().all(|c| !c.is_ascii_lowercase()) {
        return format!("{word}s");
    }
    let plural = if UNCOUNTABLE.contains(&lower.as_str()) {
        lower
    } else if let Some((_, plural)) = IRREGULAR.iter().find(|(singular, _)| *singular == lower) {
        (*plural).to_owned()
    } else if ["s", "x", "z", "ch", "sh"].iter().any(|end| lower.ends_with(end))
        || O_ES.contains(&lower.as_str())
    {
        format!("{lower}es")
    } else if let Some(stem) = lower.strip_suffix('y').filter(|stem| ends_with_consonant(stem)) {
        format!("{stem}ies")
    } else {
        format!("{lower}s")
    };
    if word.starts_with(|c: char| c.is_ascii_uppercase()) {
        capitalize(&plural)
    } else {
        plural
    }
}

fn ends_with_consonant(stem: &str) -> bool {
    stem.chars()
        .last()
        .is_some_and(|c| c.is_ascii_alphabetic() && !"aeiou".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_split_into_words_at_case_changes_and_acronym_ends() {
        assert_eq!(words("MealPlan"), ["Meal", "Plan"]);
        assert_eq!(words("dueDate"), ["due", "Date"]);
        assert_eq!(words("URLLink"), ["URL", "Link"]);
        assert_eq!(words("address2Line"), ["address2", "Line"]);
        assert_eq!(words("isbn"), ["isbn"]);
        assert!(words("").is_empty());
    }

    #[test]
    fn entity_labels_are_title_case_and_plural_labels_follow_english() {
        assert_eq!(entity_label("MealPlan"), "Meal Plan");
        assert_eq!(entity_plural_label("MealPlan"), "Meal Plans");
        assert_eq!(entity_plural_label("Task"), "Tasks");
        assert_eq!(entity_plural_label("Category"), "Categories");
        assert_eq!(entity_plural_label("Day"), "Days");
        assert_eq!(entity_plural_label("Status"), "Statuses");
        assert_eq!(entity_plural_label("Box"), "Boxes");
        assert_eq!(entity_plural_label("Batch"), "Batches");
        assert_eq!(entity_plural_label("Person"), "People");
        assert_eq!(entity_plural_label("TeamPerson"), "Team People");
        assert_eq!(entity_plural_label("Feedback"), "Feedback");
        assert_eq!(entity_plural_label("Hero"), "Heroes");
        assert_eq!(entity_plural_label("Photo"), "Photos");
        assert_eq!(entity_plural_label("Shelf"), "Shelves");
        assert_eq!(entity_plural_label("ShortURL"), "Short URLs");
    }

    #[test]
    fn field_labels_are_sentence_case_with_known_acronyms_in_capitals() {
        assert_eq!(field_label("dueDate"), "Due date");
        assert_eq!(field_label("title"), "Title");
        assert_eq!(field_label("isbn"), "ISBN");
        assert_eq!(field_label("homepageUrl"), "Homepage URL");
        assert_eq!(field_label("HTMLBody"), "HTML body");
    }

    #[test]
    fn collection_paths_are_lower_case_plurals_joined_by_hyphens() {
        assert_eq!(collection_path("Task"), "tasks");
        assert_eq!(collection_path("MealPlan"), "meal-plans");
        assert_eq!(collection_path("Person"), "people");
    }

    #[test]
    fn package_names_are_made_valid() {
        assert_eq!(package_name("todo"), "todo");
        assert_eq!(package_name("My App!"), "my-app");
        assert_eq!(package_name("--"), "app");
        assert_eq!(package_name(""), "app");
    }
}
