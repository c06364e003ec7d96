//! Prompt → blueprint: the data model the scaffold agent understood.
