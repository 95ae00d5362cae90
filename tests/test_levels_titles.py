"""The shipped job title table on real-world titles, its pattern syntax, and replacing it."""

import pytest
from sqlalchemy import select

from bot.common.csvfile import InputError
from bot.domain.levels.admin import set_title_rules
from bot.domain.levels.sources import set_value
from bot.domain.levels.titles import (
    SHIPPED,
    TitleRules,
    compile_pattern,
    read_rules,
    shipped_rules,
)
from bot.storage.db import session_scope
from bot.storage.models import Member, Workspace

TITLES = [
    # trainees
    ("Intern", 1),
    ("Software Engineering Intern", 1),
    ("Summer Intern, Marketing", 1),
    ("Apprentice Electrician", 1),
    ("Graduate Trainee", 1),
    ("Werkstudentin Marketing", 1),
    ("Praktikant (m/w/d)", 1),
    ("Auszubildender Kaufmann für Büromanagement", 1),
    ("Stagiaire RH", 1),
    ("Becario de Desarrollo", 1),
    ("Estagiário de TI", 1),
    # assistants and coordinators
    ("Executive Assistant to the CEO", 2),
    ("Administrative Assistant", 2),
    ("Receptionist", 2),
    ("Marketing Coordinator", 2),
    ("Project Coordinator", 2),
    ("Assistenz der Geschäftsführung", 2),
    ("Assistante de direction", 2),
    ("Asistente Administrativa", 2),
    ("Coordinadora de Proyectos", 2),
    ("Sachbearbeiterin Buchhaltung", 2),
    ("Customer Support", 2),
    # early career, specialists
    ("Junior Data Analyst", 3),
    ("Jr. Developer", 3),
    ("Associate Product Manager", 3),
    ("Staff Accountant", 3),
    ("Sales Development Representative", 3),
    ("IT Support Specialist", 3),
    ("Technical Recruiter", 3),
    ("Registered Nurse", 3),
    ("Chargée de communication", 3),
    ("Técnico de Soporte", 3),
    ("Office Manager", 3),
    # professionals
    ("Software Engineer", 4),
    ("Data Scientist", 4),
    ("Business Analyst", 4),
    ("UX Designer", 4),
    ("Management Consultant", 4),
    ("Account Executive", 4),
    ("Customer Success Manager", 4),
    ("Softwareentwicklerin (m/w/d)", 4),
    ("Ingénieur logiciel", 4),
    ("Développeuse Full Stack", 4),
    ("Ingeniera de Software", 4),
    ("Analista de Sistemas", 4),
    ("Engenheira de Dados", 4),
    ("Referentin Unternehmenskommunikation", 4),
    # senior individual contributors
    ("Senior Software Engineer", 5),
    ("Sr. Data Analyst", 5),
    ("Product Manager", 5),
    ("Senior Product Manager", 5),
    ("Solutions Architect", 5),
    ("Legal Counsel", 5),
    ("HR Business Partner", 5),
    ("Product Owner", 5),
    ("Chef de projet digital", 5),
    ("Coordenadora de RH", 5),
    ("Senior Softwareentwickler", 5),
    # leads and managers
    ("Engineering Manager", 6),
    ("Principal Engineer", 6),
    ("Staff Software Engineer", 6),
    ("Tech Lead", 6),
    ("Team Leader, Customer Care", 6),
    ("Marketing Manager", 6),
    ("Associate Director, Finance", 6),
    ("Teamleiterin Vertrieb", 6),
    ("Gerente de Ventas", 6),
    ("Responsable Commercial", 6),
    # directors
    ("Director of Engineering", 7),
    ("Senior Director, Product", 7),
    ("Chief of Staff", 7),
    ("Abteilungsleiter Finanzen", 7),
    ("Leiterin Personal", 7),
    ("Directrice Marketing", 7),
    ("Directora de Marketing", 7),
    ("Diretor de Tecnologia", 7),
    ("Distinguished Engineer", 7),
    # vice presidents and heads
    ("VP of Engineering", 8),
    ("Vice President, Sales", 8),
    ("SVP Marketing", 8),
    ("Head of People", 8),
    ("General Manager", 8),
    ("Partner", 8),
    ("Vice-Président Ventes", 8),
    ("Vicepresidente de Operaciones", 8),
    ("Bereichsleiterin IT", 8),
    # top of the company
    ("CEO", 9),
    ("Chief Executive Officer", 9),
    ("Co-Founder & CTO", 9),
    ("Founder", 9),
    ("President", 9),
    ("Managing Director", 9),
    ("Geschäftsführer", 9),
    ("Directeur Général", 9),
    ("PDG", 9),
    ("Director Ejecutivo", 9),
    ("Sócio-fundador", 9),
    ("Diretor-Presidente", 9),
    ("Amministratore Delegato", 9),
]


@pytest.mark.parametrize("title, level", TITLES)
def test_shipped_table_on_real_world_titles(title, level):
    found = shipped_rules().match(title)
    assert found is not None, f"no rule for {title!r}"
    assert found.level == level, f"{title!r} → {found.rule}"


def test_at_least_fifty_titles_in_several_languages_are_covered():
    assert len(TITLES) >= 50
    assert len({level for _, level in TITLES}) == 9


@pytest.mark.parametrize(
    "title", ["", "   ", "Internal Auditor Extraordinaire Of Things", "Wizard", "🙂", None]
)
def test_unknown_titles_give_no_level(title):
    if title == "Internal Auditor Extraordinaire Of Things":
        assert shipped_rules().level(title) == 4  # "auditor", not "intern"
    else:
        assert shipped_rules().level(title) is None


def test_matching_ignores_case_accents_and_punctuation():
    rules = TitleRules([("geschäftsführer*", 9), ("co-founder", 9), ("sr", 5)])
    assert rules.level("GESCHAEFTSFUEHRER") is None  # a different spelling needs its own rule
    assert rules.level("Geschaftsfuhrerin") == 9
    assert rules.level("CO FOUNDER") == 9
    assert rules.level("Sr.Engineer") == 5
    assert rules.level("Srinivasan") is None  # whole words only


def test_wildcards_and_anchors():
    rules = TitleRules([("^partner$", 8), ("chief * officer", 9), ("*entwickler*", 4)])
    assert rules.level("Partner") == 8
    assert rules.level("Talent Partner") is None
    assert rules.level("Chief Revenue Officer") == 9
    assert rules.level("Chief Officer") is None
    assert rules.level("Softwareentwicklerin") == 4


def test_first_matching_rule_wins():
    rules = TitleRules([("assistant", 2), ("ceo", 9)])
    found = rules.match("Assistant to the CEO")
    assert (found.level, found.rule.position, found.rule.pattern) == (2, 1, "assistant")
    assert str(found.rule) == 'rule 1 "assistant" → 2'


@pytest.mark.parametrize("pattern", ["", "*", " - ", "* *"])
def test_patterns_without_letters_are_refused(pattern):
    with pytest.raises(ValueError):
        compile_pattern(pattern)


def test_the_shipped_file_reads_as_rules_with_notes_and_comments():
    rules = read_rules(SHIPPED)
    assert len(rules) == len(shipped_rules()) >= 150
    assert all(1 <= level <= 9 for _, level in rules)


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"pattern,level\nintern,one\n", 'x.csv line 2, column "level": "one" is not a whole'),
        (b"pattern,level\n-,3\n", 'x.csv line 2, column "pattern": "-" has no letters'),
        (b"pattern\nintern\n", 'x.csv line 1: has no "level" column'),
        (b"# our titles\npattern\nintern\n", 'x.csv line 2: has no "level" column'),
        (b"pattern,level\n# only a comment\n", "x.csv: has no rules"),
        (b"", "x.csv: is empty"),
    ],
)
def test_bad_title_tables_name_file_line_and_column(content, expected):
    with pytest.raises(InputError) as error:
        read_rules("x.csv", content)
    assert str(error.value).startswith(expected)


def test_a_workspace_table_replaces_the_shipped_one_and_reset_restores_it(migrated_url):
    with session_scope(migrated_url) as session:
        for user_id, title in (("U1", "Senior Engineer"), ("U2", "Grand Wizard")):
            member = Member(team_id="T1", user_id=user_id, title=title, values={}, sources={})
            session.add(member)
        session.flush()
        assert set_title_rules(session, "T1", None) == 1  # applies the shipped table
    with session_scope(migrated_url) as session:
        assert set_title_rules(session, "T1", [("wizard", 9), ("engineer", 3)]) == 2
    with session_scope(migrated_url) as session:
        levels = dict(session.execute(select(Member.user_id, Member.level)).all())
        assert levels == {"U1": 3, "U2": 9}
        assert session.get(Workspace, "T1").title_rules == [["wizard", 9], ["engineer", 3]]
        set_value(session, "T1", "U2", "level", 4, "import")
    with session_scope(migrated_url) as session:
        set_title_rules(session, "T1", None)
    with session_scope(migrated_url) as session:
        members = {m.user_id: m for m in session.scalars(select(Member))}
        assert members["U1"].level == 5
        assert members["U2"].level == 4 and members["U2"].sources["level"] == "import"
        assert "title" not in members["U2"].values["level"]
        assert session.get(Workspace, "T1").title_rules is None
