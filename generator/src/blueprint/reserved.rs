//! Names a blueprint may not use, because the generated TypeScript, its files or its objects
//! already mean something by them. Compared ignoring case: an entity `Class` becomes the
//! variable `class` in generated code, and `Task.ts` and `task.ts` are one file on macOS and
//! Windows.

/// JavaScript and TypeScript reserved words (including strict-mode ones) and the global values
/// that cannot be redefined. Generated code uses names as variables, parameters and imports.
const RESERVED_WORDS: &[&str] = &[
    "arguments",
    "await",
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "debugger",
    "default",
    "delete",
    "do",
    "else",
    "enum",
    "eval",
    "export",
    "extends",
    "false",
    "finally",
    "for",
    "function",
    "if",
    "implements",
    "import",
    "in",
    "instanceof",
    "interface",
    "let",
    "new",
    "null",
    "package",
    "private",
    "protected",
    "public",
    "return",
    "static",
    "super",
    "switch",
    "this",
    "throw",
    "true",
    "try",
    "typeof",
    "undefined",
    "var",
    "void",
    "while",
    "with",
    "yield",
    "NaN",
    "Infinity",
];

/// Properties every JavaScript object already has: a record field with one of these names would
/// shadow it (`toJSON` would even break `JSON.stringify`). `__proto__` and the other
/// underscore names are already refused as non-identifiers.
const OBJECT_PROPERTIES: &[&str] = &[
    "constructor",
    "prototype",
    "hasOwnProperty",
    "isPrototypeOf",
    "propertyIsEnumerable",
    "toLocaleString",
    "toString",
    "valueOf",
    "toJSON",
];

/// Names the generated app uses for its own types, components and files, the JavaScript globals
/// its code relies on, and file names Windows refuses. An entity name becomes a type and a file.
const TAKEN_BY_GENERATED_CODE: &[&str] = &[
    "App",
    "Main",
    "Index",
    "React",
    "Express",
    "Router",
    "Request",
    "Response",
    "NextFunction",
    "Object",
    "Array",
    "String",
    "Number",
    "Boolean",
    "Symbol",
    "BigInt",
    "Date",
    "Error",
    "Promise",
    "Map",
    "Set",
    "WeakMap",
    "WeakSet",
    "JSON",
    "Math",
    "RegExp",
    "Function",
    "Record",
    "Partial",
    "Required",
    "Readonly",
    "Pick",
    "Omit",
    "Any",
    "Unknown",
    "Never",
    "Con",
    "Prn",
    "Aux",
    "Nul",
    "Com1",
    "Com2",
    "Com3",
    "Com4",
    "Com5",
    "Com6",
    "Com7",
    "Com8",
    "Com9",
    "Lpt1",
    "Lpt2",
    "Lpt3",
    "Lpt4",
    "Lpt5",
    "Lpt6",
    "Lpt7",
    "Lpt8",
    "Lpt9",
];

/// Fields every record gets from the generated code; a blueprint field may not redefine them.
pub(super) const GENERATED_FIELDS: &[&str] = &["id", "createdAt", "updatedAt"];

fn listed(list: &[&str], name: &str) -> bool {
    list.iter().any(|word| word.eq_ignore_ascii_case(name))
}

/// Why `name` may not be an entity's name, if it may not. An entity `Id` is refused too: a
/// reference to it would be a field named `id`.
pub(super) fn entity_name_problem(name: &str) -> Option<&'static str> {
    if listed(GENERATED_FIELDS, name) {
        Some("would make references to it clash with a field every record has")
    } else if listed(RESERVED_WORDS, name) {
        Some("is a reserved word in JavaScript or TypeScript")
    } else if listed(OBJECT_PROPERTIES, name) {
        Some("is a property every JavaScript object already has")
    } else if listed(TAKEN_BY_GENERATED_CODE, name) {
        Some("is a name the generated code or the file system already uses")
    } else {
        None
    }
}

/// Why `name` may not be a field's name, if it may not.
pub(super) fn field_name_problem(name: &str) -> Option<&'static str> {
    if listed(GENERATED_FIELDS, name) {
        Some("is added to every record automatically")
    } else if listed(RESERVED_WORDS, name) {
        Some("is a reserved word in JavaScript or TypeScript")
    } else if listed(OBJECT_PROPERTIES, name) {
        Some("is a property every JavaScript object already has")
    } else {
        None
    }
}

pub(super) fn is_generated_field(name: &str) -> bool {
    listed(GENERATED_FIELDS, name)
}
