"""One generator per primitive; `GENERATORS` covers the whole catalog."""

from skvm_core.profile.generators.code import (
    HtmlGenerator,
    JavascriptGenerator,
    PythonGenerator,
    ShellGenerator,
    SqlGenerator,
)
from skvm_core.profile.generators.follow import (
    ConstraintGenerator,
    DelegationGenerator,
    FormatGenerator,
    ProcedureGenerator,
    StyleGenerator,
)
from skvm_core.profile.generators.reason import (
    AnalysisGenerator,
    ArithmeticGenerator,
    LogicGenerator,
    PlanningGenerator,
    SpatialGenerator,
)
from skvm_core.profile.generators.text import (
    LongTextGenerator,
    ProseGenerator,
    RegexGenerator,
    StructuredGenerator,
)
from skvm_core.profile.generators.tools import (
    BatchGenerator,
    BrowserGenerator,
    CallFormatGenerator,
    ExecGenerator,
    FileReadGenerator,
    FileWriteGenerator,
    WebGenerator,
)
from skvm_core.profile.instance import Generator

GENERATORS: dict[str, Generator] = {
    g.primitive: g
    for g in (
        PythonGenerator(), JavascriptGenerator(), ShellGenerator(), SqlGenerator(), HtmlGenerator(),
        StructuredGenerator(), LongTextGenerator(), ProseGenerator(), RegexGenerator(),
        ArithmeticGenerator(), LogicGenerator(), SpatialGenerator(), PlanningGenerator(), AnalysisGenerator(),
        FileReadGenerator(), FileWriteGenerator(), ExecGenerator(), CallFormatGenerator(), BatchGenerator(),
        WebGenerator(), BrowserGenerator(),
        FormatGenerator(), ConstraintGenerator(), ProcedureGenerator(), DelegationGenerator(), StyleGenerator(),
    )
}  # fmt: skip

__all__ = ["GENERATORS"]
