//! Prompts and exactly what they must be understood as.

use super::{understand, understood};

/// The five prompts of the issue, each with its title and entities.
#[test]
fn the_issue_examples_come_out_exactly_right() {
    let cases: [(&str, &str, &[&str]); 5] = [
        (
            "A todo app where tasks have a title, a due date, a priority (low, medium, high) and a done flag.",
            "Todo",
            &["Task: title text!, dueDate date, priority enum(low, medium, high), done boolean"],
        ),
        (
            "A recipe manager: recipes with a name, ingredients, cooking time in minutes and a category. Users can \
             also plan meals: each meal plan has a date and a recipe.",
            "Recipe Manager",
            &[
                "Recipe: name text!, ingredients longText, cookingTime integer, category text",
                "MealPlan: date date, recipe -> Recipe",
            ],
        ),
        (
            "Track my book collection. Each book has a title, author, ISBN, number of pages, whether I've read it, \
             and a rating from 1 to 5.",
            "Book Collection",
            &["Book: title text!, author text, isbn text, pages integer, read boolean, rating integer 1..5"],
        ),
        (
            "An expense tracker with expenses (amount, date, category, note) and monthly budgets (month, limit).",
            "Expense Tracker",
            &[
                "Expense: amount money, date date, category text!, note longText",
                "Budget: month text!, limit money",
            ],
        ),
        (
            "A small CRM for a freelancer: clients with name, email, phone and company; projects belong to a client \
             and have a name, a deadline, a budget and a status (proposal, active, done).",
            "CRM",
            &[
                "Client: name text!, email email, phone text, company text",
                "Project: client -> Client!, name text!, deadline date, budget money, status enum(proposal, active, done)",
            ],
        ),
    ];
    for (prompt, title, entities) in cases {
        let understanding = understand(prompt);
        assert_eq!(understanding.blueprint.title.as_deref(), Some(title), "{prompt}");
        assert_eq!(understood(prompt), entities, "{prompt}");
        assert!(!understanding.fell_back, "{prompt}");
    }
}

/// Phrasings from the wild: "each X has", "X with A, B and C", "keep a list of X", "X belong to
/// Y", "track Xs and Ys", bullets, one item per line, headings, plurals, British spelling.
#[test]
fn varied_prompts_come_out_as_expected() {
    let cases: &[(&str, &str, &[&str])] = &[
        // keep a list of; British spelling; whether …
        (
            "I want to keep a list of my favourite films. Each film has a title, a director, a release year, a colour rating and whether I've watched it.",
            "Films",
            &["Film: title text!, director text, releaseYear integer, colorRating integer, watched boolean"],
        ),
        // track Xs and Ys; each X has; belong to … and have
        (
            "Track workouts and exercises. Each workout has a date, a duration in minutes and a type (run, swim, cycle). Exercises belong to a workout and have a name, sets, reps and weight in kg.",
            "Workouts",
            &[
                "Workout: date date, duration integer, type enum(run, swim, cycle)",
                "Exercise: workout -> Workout!, name text!, sets integer, reps integer, weight number",
            ],
        ),
        // a header with bullets; belong to two entities
        (
            "A library system.\nBooks:\n- title\n- author\n- ISBN\n- published date\nMembers:\n- name\n- email\n- membership number\nLoans belong to a book and a member, with a due date and a returned flag.",
            "Library",
            &[
                "Book: title text!, author text, isbn text, publishedDate date",
                "Member: name text!, email email, membershipNumber text",
                "Loan: book -> Book!, member -> Member!, dueDate date, returned boolean",
            ],
        ),
        // X with Ys and Zs; one of a, b or c
        (
            "A blog with posts and comments. Each post has a title, body, a publish date and a status which is one of draft, published or archived. Comments belong to a post and have an author name and text.",
            "Blog",
            &[
                "Post: title text!, body longText, publishDate date, status enum(draft, published, archived)",
                "Comment: post -> Post!, authorName text!, text longText",
            ],
        ),
        // keep track of X: a heading before a colon
        (
            "Keep track of my plants: each plant has a name, species, a watering interval in days, last watered date and a photo.",
            "Plants",
            &["Plant: name text!, species text, wateringInterval integer, lastWateredDate date, photo url"],
        ),
        // a field named like another entity is a reference
        (
            "An inventory app for a small shop. Products have a name, SKU, price, quantity in stock and a supplier. Suppliers have a name, contact email and phone number.",
            "Inventory",
            &[
                "Product: name text!, sku text, price money, quantity integer, supplier -> Supplier",
                "Supplier: name text!, contactEmail email, phoneNumber text",
            ],
        ),
        // date and time; first and last name; belong to without a subject of its own
        (
            "Event planner: events with a title, start date and time, location, capacity and a ticket price. Attendees have a first and last name, an email address and belong to an event.",
            "Event Planner",
            &[
                "Event: title text!, startDateTime datetime, location text, capacity integer, ticketPrice money",
                "Attendee: firstName text!, lastName text, email email, event -> Event!",
            ],
        ),
        // one item per line under a header, lists split by a blank line
        (
            "A habit tracker.\nHabits\nname\nfrequency\nstart date\n\nCheck-ins\ndate\nnote",
            "Habit Tracker",
            &[
                "Habit: name text!, frequency text, startDate date",
                "CheckIn: date date, note longText",
            ],
        ),
        // has many …, each with …; can be assigned to (optional)
        (
            "A project has many tasks, each with a title, an estimate in hours and an optional assignee. A task can be assigned to a person. People have a name and an email.",
            "Projects",
            &[
                "Project: name text!",
                "Task: project -> Project, title text!, estimate number, assignee text, person -> Person",
                "Person: name text!, email email",
            ],
        ),
        // manage Xs and Ys; date of birth
        (
            "Manage patients and appointments for a clinic. Patients have a name, date of birth, phone and notes. Appointments have a date and time, a reason, and belong to a patient.",
            "Patients",
            &[
                "Patient: name text!, birthDate date, phone text, notes longText",
                "Appointment: dateTime datetime, reason text!, patient -> Patient!",
            ],
        ),
        // Entities: …; X (a, b, c)
        (
            "Entities: authors, publishers.\nAuthors (name, country, website)\nPublishers (name, founded year)",
            "Authors",
            &[
                "Author: name text!, country text, website url",
                "Publisher: name text!, foundedYear integer",
            ],
        ),
        // British spelling; has many through a plural; X belong to Y
        (
            "A colour palette organiser where each palette has a name and colours, and each colour has a hex code and a name. Colours belong to a palette.",
            "Colour Palette Organiser",
            &[
                "Palette: name text!",
                "Color: palette -> Palette!, hexCode text, name text!",
            ],
        ),
        // catalogue (British); prep time and cooking time in minutes
        (
            "A recipe catalogue. Recipes have a title, servings, prep time and cooking time in minutes, a cuisine (Italian, Mexican, Thai), ingredients and instructions.",
            "Recipe Catalogue",
            &[
                "Recipe: title text!, servings integer, prepTime integer, cookingTime integer, cuisine enum(Italian, Mexican, Thai), ingredients longText, instructions longText",
            ],
        ),
        // irregular plural; each X has
        (
            "Students, courses and enrollments. Each student has a name and email. Each course has a code, title and credits. Enrollments belong to a student and a course and have a grade.",
            "Students",
            &[
                "Student: name text!, email email",
                "Course: code text, title text!, credits integer",
                "Enrollment: student -> Student!, course -> Course!, grade text!",
            ],
        ),
        // e-mail; favourite colour; value in dollars
        (
            "A CRM. Each contact has a name, an e-mail, a phone, a company, a birthday, a LinkedIn URL and a favourite colour. Deals belong to a contact and have a value in dollars, a stage (lead, qualified, won, lost) and an expected close date.",
            "CRM",
            &[
                "Contact: name text!, email email, phone text, company text, birthday date, linkedinUrl url, favoriteColor text",
                "Deal: contact -> Contact!, value money, stage enum(lead, qualified, won, lost), expectedCloseDate date",
            ],
        ),
        // keep a catalogue of; one word for a longer entity; a/b/c values; £
        (
            "Keep a catalogue of my vinyl records: each record has an artist, album title, release year, condition (mint/good/poor), purchase price in £, and where I bought it.",
            "Vinyl Records",
            &[
                "VinylRecord: artist text, albumTitle text!, releaseYear integer, condition enum(mint, good, poor), purchasePrice money",
            ],
        ),
        // a reserved entity name is renamed; references follow the rename
        (
            "A school app. Each class has a name, a room number and a teacher. Teachers have a name, an email and a salary. Students belong to a class.",
            "School",
            &[
                "ClassItem: name text!, roomNumber text, teacher -> Teacher",
                "Teacher: name text!, email email, salary money",
                "Student: name text!, classItem -> ClassItem!",
            ],
        ),
        // bulleted lines, each its own entity
        (
            "- Tasks: title, due date, done\n- Projects: name, deadline\n- Tags: name, colour",
            "Tasks",
            &[
                "Task: title text!, dueDate date, done boolean",
                "Project: name text!, deadline date",
                "Tag: name text!, color text",
            ],
        ),
        // markdown headings and bullets; (required), (optional), status: a / b / c, (hours)
        (
            "## Tasks\n* title (required)\n* description (optional)\n* status: todo / doing / done\n* estimate (hours)\n\n## Users\n* name\n* email",
            "Tasks",
            &[
                "Task: title text!, description longText, status enum(todo, doing, done), estimate number",
                "User: name text!, email email",
            ],
        ),
        // a header with a colon and a container app
        (
            "Shopping list: items with a name, quantity, a price and whether it's bought.",
            "Shopping List",
            &["Item: name text!, quantity integer, price money, bought boolean"],
        ),
        // save Xs with …; out of 10
        (
            "A movie watchlist where I can save movies with title, genre, year, runtime in minutes, IMDb link, my rating out of 10 and whether I've seen it.",
            "Movies",
            &[
                "Movie: title text!, genre text, year integer, runtime integer, imdbLink url, rating integer ..10, seen boolean",
            ],
        ),
        // species (a, b, c); date of birth; an owner
        (
            "Pets have a name, species (dog, cat, bird), a date of birth and an owner. Owners have a full name, phone and address. Vet visits belong to a pet and have a date, a reason, a cost and notes.",
            "Pets",
            &[
                "Pet: name text!, species enum(dog, cat, bird), birthDate date, owner -> Owner",
                "Owner: fullName text!, phone text, address text",
                "VetVisit: pet -> Pet!, date date, reason text!, cost money, notes longText",
            ],
        ),
        // organise (British); a container heading; number of …
        (
            "Organise my wine cellar: wines have a name, vintage, region, grape, price, number of bottles and tasting notes.",
            "Wine Cellar",
            &[
                "Wine: name text!, vintage text, region text, grape text, price money, bottles integer, tastingNotes longText",
            ],
        ),
        // semicolons between entities; (bpm); that belong to … and have many …
        (
            "An app for a band: songs with title, key, tempo (bpm), duration and lyrics; gigs with a venue, date and time and a fee; setlists that belong to a gig and have many songs.",
            "Songs",
            &[
                "Song: title text!, key text, tempo integer, duration integer, lyrics longText, setlist -> Setlist",
                "Gig: venue text!, dateTime datetime, fee money",
                "Setlist: name text!, gig -> Gig!",
            ],
        ),
        // people → Person; belongs to
        (
            "People have a name, an age and a favourite colour. Each person belongs to a household. Households have an address and a postcode.",
            "People",
            &[
                "Person: name text!, age integer, favoriteColor text, household -> Household!",
                "Household: address text!, postcode text",
            ],
        ),
        // Xs and Ys: each X has …; whether it is in stock
        (
            "Categories and products: each category has a name and a description; each product has a name, a price, a category and whether it is in stock.",
            "Categories",
            &[
                "Category: name text!, description longText",
                "Product: name text!, price money, category -> Category, inStock boolean",
            ],
        ),
        // an entity named only in passing that is another entity's field is dropped
        (
            "I'd like a simple app to log my daily moods. Each entry has a date, a mood (great, good, okay, bad, awful), an energy level from 1 to 10 and optional notes.",
            "Entries",
            &[
                "Entry: date date, mood enum(great, good, okay, bad, awful), energyLevel integer 1..10, notes longText",
            ],
        ),
        // which can be a, b or c; start time; belong to … and …
        (
            "A gym membership manager. Members have a first and last name, an email, a membership type which can be monthly, annual or day pass, a start date and an end date. Classes have a name, an instructor, a start time and a capacity. Bookings belong to a member and a class.",
            "Gym Membership Manager",
            &[
                "Member: firstName text!, lastName text, email email, membershipType enum(monthly, annual, day pass), startDate date, endDate date",
                "ClassItem: name text!, instructor text, startTime datetime, capacity integer",
                "Booking: name text!, member -> Member!, classItem -> ClassItem!",
            ],
        ),
        // for each X I want to store …
        (
            "Create a job application tracker. For each application I want to store the company, the role, the date applied, the salary range, a status (applied / interviewing / offer / rejected) and a link to the posting.",
            "Job Application Tracker",
            &[
                "Application: company text!, role text, dateApplied date, salaryRange text, status enum(applied, interviewing, offer, rejected), link url",
            ],
        ),
        // an app with entities; positions and labels
        (
            "A simple kanban board with boards, columns and cards. Cards belong to a column and have a title, description, due date and labels. Columns belong to a board and have a name and a position.",
            "Kanban Board",
            &[
                "Board: name text!",
                "Column: board -> Board!, name text!, position integer",
                "Card: column -> Column!, title text!, description longText, dueDate date, labels text",
            ],
        ),
        // X: a, b (one per sentence part); created by (email)
        (
            "A support ticket system. Tickets: subject, description, priority (low/normal/high/urgent), status (open, pending, closed), created by (email), assigned agent. Agents: name, email, team.",
            "Support Ticket",
            &[
                "Ticket: subject text!, description longText, priority enum(low, normal, high, urgent), status enum(open, pending, closed), createdBy email, assignedAgent -> Agent",
                "Agent: name text!, email email, team text",
            ],
        ),
        // the date they were last reviewed
        (
            "Flashcards app: decks with a name and a colour; cards belong to a deck and have a front, a back and the date they were last reviewed.",
            "Flashcards",
            &[
                "Deck: name text!, color text",
                "Card: deck -> Deck!, front text!, back text, dateLastReviewed date",
            ],
        ),
        // a collection with fields; minimum and maximum number of …; whether … or …
        (
            "I want to catalogue my board game collection with the name, the minimum and maximum number of players, play time in minutes, the publisher and whether I own it or just want it.",
            "Board Game Collection",
            &[
                "BoardGame: name text!, minimumPlayers integer, maximumPlayers integer, playTime integer, publisher text, own boolean",
            ],
        ),
        // each trip has many activities with …
        (
            "A travel planner where trips have a destination, start date, end date and budget, and each trip has many activities with a name, a date and time, a cost and a booking link.",
            "Travel Planner",
            &[
                "Trip: destination text!, startDate date, endDate date, budget money",
                "Activity: trip -> Trip, name text!, dateTime datetime, cost money, bookingLink url",
            ],
        ),
        // a heading before a colon is no entity
        (
            "Keep track of my car's maintenance: services with a date, mileage, type of service, garage, cost and notes.",
            "Services",
            &["Service: date date, mileage number, type text!, garage text, cost money, notes longText"],
        ),
        // minutes read, pages read
        (
            "A reading log.\n- Books: title, author, genre, pages\n- Sessions: date, minutes read, pages read, book",
            "Reading Log",
            &[
                "Book: title text!, author text, genre text, pages integer",
                "Session: date date, minutesRead integer, pagesRead integer, book -> Book",
            ],
        ),
        // track X: a, b, c
        (
            "Track workouts: date, duration in minutes, type (run, swim)\n",
            "Workouts",
            &["Workout: date date, duration integer, type enum(run, swim)"],
        ),
        // volunteers (…), shifts (…) and signups that link a volunteer to a shift
        (
            "A volunteer scheduling app: volunteers (name, email, phone, skills), shifts (date, start time, end time, location, needed volunteers) and signups that link a volunteer to a shift.",
            "Volunteer Scheduling",
            &[
                "Volunteer: name text!, email email, phone text, skills text, shift -> Shift",
                "Shift: date date, startTime datetime, endTime datetime, location text!",
                "Signup: name text!, volunteer -> Volunteer!, shift -> Shift!",
            ],
        ),
        // an assignee who is a developer: a reference named for its role
        (
            "Bug tracker where each bug has a title, steps to reproduce, severity (minor, major, critical), status and an assignee who is a developer. Developers have a name and an email.",
            "Bug Tracker",
            &[
                "Bug: title text!, steps longText, severity enum(minor, major, critical), status text, assignee -> Developer",
                "Developer: name text!, email email",
            ],
        ),
        // let me log X: a, b, … in celsius, in seconds, out of 5
        (
            "Let me log my coffee brews: bean, grind size, water temperature in celsius, brew time in seconds, rating out of 5 and tasting notes",
            "Coffee Brews",
            &[
                "CoffeeBrew: bean text!, grindSize text, waterTemperature number, brewTime integer, rating integer ..5, tastingNotes longText",
            ],
        ),
        // four options: counts are not part of names
        (
            "A quiz app. Quizzes have a title and a description. Questions belong to a quiz and have the question text, four options and the correct answer.",
            "Quiz",
            &[
                "Quiz: title text!, description longText",
                "Question: quiz -> Quiz!, questionText longText, options text!, correctAnswer text",
            ],
        ),
        // manage a league: a heading, then entities; a home team and an away team
        (
            "Manage a football league: teams, players and matches. Teams have a name, city and founded year. Players have a name, position (goalkeeper, defender, midfielder, forward), shirt number and belong to a team. Matches have a date, a home team, an away team, home score and away score.",
            "Teams",
            &[
                "Team: name text!, city text, foundedYear integer",
                "Player: name text!, position enum(goalkeeper, defender, midfielder, forward), shirtNumber integer, team -> Team!",
                "Match: date date, homeTeam -> Team, awayTeam -> Team, homeScore integer, awayScore integer",
            ],
        ),
        // a tool for freelancers with clients, projects and time entries
        (
            "A time tracking tool for freelancers with clients, projects and time entries. Time entries have a start time, end time, description and a billable flag, and belong to a project.",
            "Time Tracking",
            &[
                "Client: name text!",
                "Project: name text!",
                "TimeEntry: startTime datetime, endTime datetime, description longText, billable boolean, project -> Project!",
            ],
        ),
        // an app for a dentist: a list of entities, some with fields in parentheses
        (
            "Create an app for a dentist: patients, dentists, appointments (date/time, duration, treatment, notes), invoices (amount, paid, due date).\n",
            "Patients",
            &[
                "Patient: name text!",
                "Dentist: name text!",
                "Appointment: dateTime datetime, duration integer, treatment text!, notes longText",
                "Invoice: amount money, paid boolean, dueDate date",
            ],
        ),
    ];
    assert!(cases.len() >= 20);
    for (prompt, title, entities) in cases {
        let understanding = understand(prompt);
        assert_eq!(understood(prompt), *entities, "{prompt}");
        assert_eq!(understanding.blueprint.title.as_deref(), Some(*title), "{prompt}");
        assert!(!understanding.fell_back, "{prompt}");
    }
}

#[test]
fn a_prompt_without_entities_falls_back_to_one_named_from_it_and_says_so() {
    for (prompt, title, entity) in [
        ("A todo app", "Todo", "Todo: title text!, notes longText"),
        ("A small CRM", "CRM", "Contact: name text!, notes longText"),
        (
            "My recipe manager",
            "Recipe Manager",
            "Recipe: name text!, notes longText",
        ),
        (
            "Build me something for my garden",
            "Gardens",
            "Garden: name text!, notes longText",
        ),
        ("tasks", "Tasks", "Task: title text!, notes longText"),
        (
            "Make it pretty, please!",
            "Items",
            "Item: name text!, notes longText",
        ),
    ] {
        let understanding = understand(prompt);
        assert!(understanding.fell_back, "{prompt}");
        assert_eq!(understood(prompt), [entity], "{prompt}");
        assert_eq!(understanding.blueprint.title.as_deref(), Some(title), "{prompt}");
        let name = entity.split(':').next().unwrap_or_default();
        let said = format!(
            "Found no entities with fields in the prompt, so the app keeps one kind of record, `{name}`"
        );
        assert!(
            understanding.notes.iter().any(|n| n.starts_with(&said)),
            "{prompt}: {:?}",
            understanding.notes
        );
    }
}

#[test]
fn reserved_names_are_renamed_or_left_out_and_said_so() {
    let prompt = "Classes have a constructor, a prototype, a __proto__ and a toString. Each class has a name, an id, \
                  a created at, an updated at and a public flag. Dates belong to a class.";
    let understanding = understand(prompt);
    assert_eq!(
        understood(prompt),
        [
            "ClassItem: constructorValue text, prototypeValue text, proto text, tostringValue text, name text!, isPublic boolean",
            "DateItem: name text!, classItem -> ClassItem!",
        ]
    );
    for note in [
        "`Class` is a reserved word in JavaScript or TypeScript, so the entity is called `ClassItem`.",
        "`constructor` is a property every JavaScript object already has, so the field of `ClassItem` is called `constructorValue`.",
        "Every `ClassItem` gets `id` automatically, so the `id` in the prompt was left out.",
        "Every `ClassItem` gets `createdAt` automatically, so the `createdAt` in the prompt was left out.",
        "`public` is a reserved word in JavaScript or TypeScript, so the field of `ClassItem` is called `isPublic`.",
        "`Date` is a name the generated code or the file system already uses, so the entity is called `DateItem`.",
    ] {
        assert!(
            understanding.notes.iter().any(|n| n == note),
            "{note}\n{:?}",
            understanding.notes
        );
    }
}

#[test]
fn what_the_prompt_says_about_required_wins_over_the_label_rule() {
    assert_eq!(
        understood(
            "Tasks have a title, a subtitle, a due date (required), an optional owner and a done flag (required)."
        ),
        ["Task: title text!, subtitle text, dueDate date!, owner text, done boolean"]
    );
    assert_eq!(
        understood("Notes have an optional title, a body and a mandatory author."),
        ["Note: title text, body longText, author text!"]
    );
    assert_eq!(
        understood("Posts have a body and a slug."),
        ["Post: body longText, slug text!"]
    );
}

#[test]
fn the_first_note_sums_up_what_was_understood() {
    let understanding = understand(
        "A recipe manager: recipes with a name, ingredients, cooking time in minutes and a category. Users can \
         also plan meals: each meal plan has a date and a recipe.",
    );
    assert_eq!(
        understanding.notes,
        [
            "Understood 2 entities: Recipe (name, ingredients, cookingTime, category), MealPlan (date, recipe)."
        ]
    );
}

#[test]
fn a_renamed_entity_is_one_with_an_entity_of_its_new_name() {
    assert_eq!(
        understood("Class items have a code. Classes have a name. Students belong to a class."),
        [
            "ClassItem: code text, name text!",
            "Student: name text!, classItem -> ClassItem!"
        ]
    );
}
