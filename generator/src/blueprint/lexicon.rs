//! The words the reader knows, grouped by the part they play. The rules live in the other modules;
//! adding a word here changes what is recognised without touching a rule. Every word is in its
//! normalised form: lower case, ASCII, American spelling.

/// Articles, possessives and quantity words that open a noun phrase: "each book", "my recipes".
pub(super) fn is_determiner(w: &str) -> bool {
    matches!(
        w,
        "a" | "an"
            | "the"
            | "each"
            | "every"
            | "my"
            | "our"
            | "your"
            | "their"
            | "his"
            | "her"
            | "its"
            | "this"
            | "these"
            | "those"
            | "all"
            | "any"
            | "some"
            | "both"
            | "one"
            | "single"
            | "exactly"
    )
}

/// Words that say "more than one" before a noun: "a project has many tasks".
pub(super) fn is_many(w: &str) -> bool {
    matches!(w, "many" | "multiple" | "several" | "numerous" | "various")
}

/// Adjectives that describe an entity without naming it: "monthly budgets" are budgets and
/// "a small CRM" is a CRM.
pub(super) fn is_loose_adjective(w: &str) -> bool {
    matches!(
        w,
        "monthly"
            | "weekly"
            | "daily"
            | "yearly"
            | "annual"
            | "quarterly"
            | "hourly"
            | "new"
            | "old"
            | "small"
            | "simple"
            | "little"
            | "basic"
            | "tiny"
            | "quick"
            | "minimal"
            | "lightweight"
            | "nice"
            | "cool"
            | "great"
            | "easy"
            | "modern"
            | "clean"
            | "beautiful"
            | "fancy"
            | "fun"
            | "super"
            | "online"
            | "personal"
            | "own"
            | "different"
            | "individual"
            | "separate"
            | "specific"
            | "certain"
            | "favorite"
            | "current"
            | "upcoming"
            | "past"
            | "future"
            | "recent"
            | "existing"
            | "additional"
            | "main"
            | "other"
            | "few"
            | "whole"
            | "entire"
            | "free"
    )
}

/// Personal and demonstrative pronouns, with their contractions.
pub(super) fn is_pronoun(w: &str) -> bool {
    matches!(
        w,
        "i" | "me"
            | "we"
            | "us"
            | "you"
            | "he"
            | "him"
            | "she"
            | "her"
            | "it"
            | "they"
            | "them"
            | "i've"
            | "i'm"
            | "i'd"
            | "i'll"
            | "we've"
            | "we're"
            | "we'd"
            | "we'll"
            | "you're"
            | "you've"
            | "it's"
            | "they're"
            | "they've"
            | "myself"
            | "itself"
            | "themselves"
            | "someone"
            | "something"
            | "anything"
            | "everything"
            | "nothing"
            | "everyone"
            | "anyone"
            | "whatever"
    )
}

/// Auxiliary and modal verbs: "tasks **should** have", "projects **are** linked to".
pub(super) fn is_auxiliary(w: &str) -> bool {
    matches!(
        w,
        "is" | "are"
            | "was"
            | "were"
            | "be"
            | "been"
            | "being"
            | "am"
            | "do"
            | "does"
            | "did"
            | "can"
            | "could"
            | "should"
            | "would"
            | "will"
            | "shall"
            | "may"
            | "might"
            | "must"
            | "also"
            | "always"
            | "usually"
            | "typically"
            | "often"
            | "only"
            | "just"
            | "optionally"
            | "sometimes"
            | "then"
            | "to"
    )
}

/// Auxiliaries that make a relation optional: "a task **can** be assigned to a person".
pub(super) fn is_optional_auxiliary(w: &str) -> bool {
    matches!(w, "can" | "could" | "may" | "might" | "optionally" | "sometimes")
}

/// Words that open a relative clause: "tasks **that** have a title".
pub(super) fn is_relative(w: &str) -> bool {
    matches!(w, "that" | "which" | "who" | "whom" | "whose" | "where")
}

/// Words that join a clause to the one before it: "… belong to a client **and** have a name".
pub(super) fn is_connective(w: &str) -> bool {
    matches!(w, "and" | "also" | "then" | "but" | "plus" | "so")
}

/// Pronouns that stand for the entity of the previous sentence: "**It** also has tags."
pub(super) fn is_back_reference(w: &str) -> bool {
    matches!(w, "it" | "they" | "these" | "those" | "each" | "every")
}

/// Words that are never part of a noun phrase: grammar words, and the verbs people use to say
/// what an app does ("I want to **add** tasks").
pub(super) fn is_stopword(w: &str) -> bool {
    is_determiner(w)
        || is_many(w)
        || is_pronoun(w)
        || is_auxiliary(w)
        || is_relative(w)
        || is_connective(w)
        || matches!(
            w,
            // prepositions
            "of" | "in"
                | "on"
                | "at"
                | "by"
                | "for"
                | "from"
                | "with"
                | "about"
                | "into"
                | "onto"
                | "over"
                | "under"
                | "per"
                | "via"
                | "without"
                | "within"
                | "between"
                | "after"
                | "before"
                | "during"
                | "through"
                | "across"
                | "along"
                | "among"
                | "around"
                | "like"
                | "as"
                | "than"
                | "up"
                | "out"
                | "off"
                | "down"
                | "upon"
                | "toward"
                | "towards"
                | "against"
                | "including"
                // conjunctions and question words
                | "or"
                | "nor"
                | "yet"
                | "because"
                | "if"
                | "whether"
                | "while"
                | "either"
                | "neither"
                | "though"
                | "although"
                | "unless"
                | "when"
                | "what"
                | "why"
                | "how"
                // auxiliaries that never introduce fields here
                | "has"
                | "have"
                | "had"
                | "having"
                | "need"
                | "needs"
                | "isn't"
                | "aren't"
                | "don't"
                | "doesn't"
                | "can't"
                | "won't"
                // adverbs, fillers and greetings
                | "really"
                | "very"
                | "maybe"
                | "too"
                | "there"
                | "here"
                | "not"
                | "no"
                | "yes"
                | "please"
                | "simply"
                | "easily"
                | "even"
                | "still"
                | "already"
                | "etc"
                | "e.g"
                | "i.e"
                | "eg"
                | "ie"
                | "ideally"
                | "basically"
                | "mostly"
                | "mainly"
                | "much"
                | "more"
                | "most"
                | "less"
                | "least"
                | "well"
                | "else"
                | "such"
                | "same"
                | "able"
                | "hello"
                | "hi"
                | "hey"
                | "thanks"
                | "thank"
                // verbs for what an app does
                | "want"
                | "wants"
                | "let"
                | "lets"
                | "allow"
                | "allows"
                | "help"
                | "helps"
                | "make"
                | "makes"
                | "create"
                | "creates"
                | "build"
                | "builds"
                | "see"
                | "sees"
                | "add"
                | "adds"
                | "edit"
                | "edits"
                | "delete"
                | "remove"
                | "update"
                | "use"
                | "uses"
                | "get"
                | "gets"
                | "go"
                | "share"
                | "shares"
                | "export"
                | "import"
                | "print"
                | "search"
                | "filter"
                | "sort"
                | "find"
                | "mark"
                | "invite"
                | "send"
                | "receive"
                | "pay"
                | "compare"
                | "calculate"
                | "generate"
                | "upload"
                | "download"
                | "browse"
                | "write"
                | "sign"
                | "login"
                | "know"
                | "enter"
                | "choose"
                | "select"
                | "pick"
                | "give"
                | "gives"
                | "provide"
                | "provides"
                | "contain"
                | "contains"
                | "include"
                | "includes"
                | "hold"
                | "holds"
                | "require"
                | "requires"
                | "belong"
                | "belongs"
                | "belonging"
                | "linked"
                | "assigned"
                | "attached"
                | "related"
                | "connected"
                | "associated"
                | "owned"
                | "called"
                | "named"
                | "come"
                | "comes"
                | "say"
                | "says"
                | "look"
                | "looks"
                | "think"
                | "love"
                | "hope"
                | "planning"
                | "listing"
                // tracking verbs that are never nouns ("track", "log", "record" and "store" can be)
                | "tracking"
                | "manage"
                | "manages"
                | "managing"
                | "organize"
                | "organizes"
                | "organizing"
                | "cataloging"
                | "logging"
                | "recording"
                | "storing"
                | "collect"
                | "collects"
                | "collecting"
                | "monitoring"
                | "saving"
                | "maintain"
                | "maintains"
                | "maintaining"
                | "keep"
                | "keeps"
                | "keeping"
        )
}

/// Verbs whose object is a list of entities: "**track** books and authors", "**manage** recipes".
pub(super) fn is_tracking_verb(w: &str) -> bool {
    matches!(
        w,
        "track"
            | "tracks"
            | "tracking"
            | "manage"
            | "manages"
            | "managing"
            | "organize"
            | "organizes"
            | "organizing"
            | "catalog"
            | "catalogs"
            | "cataloging"
            | "log"
            | "logs"
            | "logging"
            | "record"
            | "records"
            | "recording"
            | "store"
            | "stores"
            | "storing"
            | "collect"
            | "collects"
            | "collecting"
            | "monitor"
            | "monitors"
            | "monitoring"
            | "save"
            | "saves"
            | "saving"
            | "maintain"
            | "maintains"
            | "maintaining"
            | "keep"
            | "keeps"
            | "keeping"
    )
}

/// Words after which a tracking verb is a verb rather than a noun: "I want **to** log workouts",
/// but not "my workout log".
pub(super) fn may_precede_tracking(w: &str) -> bool {
    matches!(
        w,
        "to" | "i"
            | "we"
            | "you"
            | "users"
            | "user"
            | "people"
            | "can"
            | "could"
            | "should"
            | "will"
            | "would"
            | "and"
            | "also"
            | "me"
            | "us"
            | "them"
            | "that"
            | "which"
            | "who"
            | "easily"
            | "simply"
            | "just"
            | "or"
            | "for"
            | "help"
            | "helps"
            | "lets"
            | "let"
            | "then"
            | "where"
            | "i'd"
            | "i'll"
            | "i'm"
            | "we'll"
            | "we're"
            | "mainly"
            | "both"
    )
}

/// Nouns that name the app rather than a thing in it: "a recipe **manager**", "a todo **app**".
pub(super) fn is_app_head(w: &str) -> bool {
    is_generic_app_head(w)
        || is_container_head(w)
        || is_standalone_app_head(w)
        || matches!(
            w,
            "tracker"
                | "manager"
                | "planner"
                | "organizer"
                | "dashboard"
                | "portal"
                | "hub"
                | "helper"
                | "assistant"
                | "scheduler"
                | "board"
                | "budgeter"
                | "logbook"
                | "notebook"
        )
}

/// App nouns that say nothing about the app and are left out of its title: "a todo **app**" is "Todo".
pub(super) fn is_generic_app_head(w: &str) -> bool {
    matches!(
        w,
        "app"
            | "application"
            | "webapp"
            | "system"
            | "tool"
            | "platform"
            | "website"
            | "site"
            | "software"
            | "program"
            | "service"
    )
}

/// Nouns for a collection of entities: "my book **collection**" holds books.
pub(super) fn is_container_head(w: &str) -> bool {
    matches!(
        w,
        "collection"
            | "list"
            | "library"
            | "catalog"
            | "archive"
            | "database"
            | "log"
            | "stash"
            | "registry"
            | "cellar"
            | "pantry"
            | "wardrobe"
            | "closet"
            | "shelf"
            | "bookshelf"
            | "cabinet"
    )
}

/// App nouns that make a title on their own: "a small CRM" is "CRM".
pub(super) fn is_standalone_app_head(w: &str) -> bool {
    matches!(
        w,
        "crm"
            | "erp"
            | "cms"
            | "blog"
            | "wiki"
            | "journal"
            | "diary"
            | "calendar"
            | "forum"
            | "marketplace"
            | "shop"
            | "store"
            | "portfolio"
            | "inventory"
    )
}

/// What a standalone app keeps, for when the prompt says nothing more: a CRM keeps contacts.
pub(super) fn standalone_app_entity(w: &str) -> Option<&'static str> {
    Some(match w {
        "crm" => "contact",
        "blog" | "forum" => "post",
        "journal" | "diary" => "entry",
        "wiki" => "page",
        "calendar" => "event",
        "shop" | "store" | "marketplace" => "product",
        "portfolio" => "project",
        "erp" | "cms" | "inventory" => "item",
        _ => return None,
    })
}

/// Abbreviations written in capitals in a title.
pub(super) fn is_acronym(w: &str) -> bool {
    matches!(
        w,
        "crm"
            | "erp"
            | "cms"
            | "hr"
            | "rsvp"
            | "diy"
            | "faq"
            | "pto"
            | "okr"
            | "kpi"
            | "seo"
            | "api"
            | "bbq"
            | "rpg"
    )
}

/// Headings that announce a list of entities: "**Entities**: books, authors".
pub(super) fn is_entity_heading(w: &str) -> bool {
    matches!(
        w,
        "entities" | "entity" | "models" | "model" | "tables" | "resources" | "objects" | "collections"
    )
}

/// Headings that announce something other than an entity: "**Features**: add tasks, share lists".
pub(super) fn is_meta_heading(w: &str) -> bool {
    matches!(
        w,
        "features"
            | "feature"
            | "requirements"
            | "requirement"
            | "pages"
            | "screens"
            | "views"
            | "overview"
            | "goals"
            | "goal"
            | "notes"
            | "note"
            | "description"
            | "summary"
            | "idea"
            | "roles"
            | "tech"
            | "stack"
            | "example"
            | "examples"
            | "nice-to-have"
            | "extras"
            | "todo"
    )
}

/// Words that talk about fields instead of naming one: "the **following fields**: …".
pub(super) fn is_field_meta(w: &str) -> bool {
    matches!(
        w,
        "following"
            | "fields"
            | "field"
            | "attributes"
            | "attribute"
            | "properties"
            | "property"
            | "columns"
            | "column"
            | "info"
            | "information"
    )
}

/// Words that start a field's qualifier rather than its name: "a budget **for** the project".
pub(super) fn starts_qualifier(w: &str) -> bool {
    is_relative(w)
        || matches!(
            w,
            "when"
                | "for"
                | "per"
                | "in"
                | "on"
                | "at"
                | "by"
                | "to"
                | "with"
                | "from"
                | "about"
                | "into"
                | "during"
                | "since"
                | "as"
                | "so"
                | "because"
                | "if"
                | "like"
                | "e.g"
                | "i.e"
                | "eg"
                | "ie"
                | "including"
                | "such"
                | "using"
                | "via"
                | "without"
                | "within"
                | "after"
                | "before"
                | "than"
                | "while"
                | "until"
                | "or"
                | "and"
                | "but"
        )
}

/// Modifiers that apply to both halves of "first and last name" or "start and end date".
pub(super) fn is_distributive(w: &str) -> bool {
    matches!(
        w,
        "first"
            | "last"
            | "start"
            | "end"
            | "min"
            | "minimum"
            | "max"
            | "maximum"
            | "opening"
            | "closing"
            | "pickup"
            | "dropoff"
            | "departure"
            | "arrival"
            | "home"
            | "work"
            | "mobile"
            | "billing"
            | "shipping"
            | "check-in"
            | "check-out"
            | "checkin"
            | "checkout"
            | "morning"
            | "evening"
            | "planned"
            | "actual"
            | "estimated"
            | "original"
            | "sale"
            | "purchase"
            | "retail"
            | "wholesale"
    )
}

/// Entities whose label is a `title` rather than a `name`.
pub(super) fn is_titled(w: &str) -> bool {
    matches!(
        w,
        "task"
            | "todo"
            | "book"
            | "movie"
            | "film"
            | "song"
            | "album"
            | "post"
            | "article"
            | "note"
            | "event"
            | "issue"
            | "ticket"
            | "story"
            | "episode"
            | "podcast"
            | "video"
            | "course"
            | "lesson"
            | "job"
            | "chapter"
            | "game"
            | "show"
            | "paper"
            | "document"
            | "page"
            | "goal"
            | "idea"
            | "meeting"
            | "poem"
            | "assignment"
            | "bug"
            | "entry"
            | "thread"
            | "topic"
    )
}
