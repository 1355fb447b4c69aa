"""The SparkSession of the Spark engine: master and driver memory (the spark_master and
spark_driver_memory settings) and Java found before the JVM starts, quiet and local-only by
default."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from homeprice.errors import UserInputError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DEFAULT_MASTER = "local[*]"
DEFAULT_DRIVER_MEMORY = "2g"
# Where Debian/Ubuntu packages and the Temurin images put JDKs; Spark 4 needs Java 17 or 21.
JVM_ROOTS = (Path("/usr/lib/jvm"), Path("/opt/java"))
SUPPORTED_JAVA = ("17", "21")
INSTALL_HINT = "the Spark engine needs PySpark: pip install 'homeprice[spark]'"


def require_pyspark() -> Any:
    """The pyspark module, or a UserInputError saying how to install it."""
    try:
        import pyspark
    except ImportError:
        raise UserInputError(INSTALL_HINT) from None
    return pyspark


def find_java_home() -> str | None:
    """$JAVA_HOME, else a JDK 17 or 21 under the usual roots, else None (java on PATH)."""
    if os.environ.get("JAVA_HOME"):
        return os.environ["JAVA_HOME"]
    for root in JVM_ROOTS:
        if not root.is_dir():
            continue
        for version in SUPPORTED_JAVA:
            for candidate in sorted(root.iterdir()):
                if version in candidate.name and (candidate / "bin" / "java").exists():
                    return str(candidate)
    return None


def spark_session(master: str | None = None, driver_memory: str | None = None,
                  conf: dict[str, str] | None = None) -> SparkSession:
    """The process's SparkSession (created on first use; an existing one is returned as is).

    Master: `master`, else local[*]. Driver memory: `driver_memory`, else 2g; it must be set
    before the JVM starts (a driver's heap cannot grow later), which is why it is given here
    and not left to spark-defaults. The engine passes the spark_* settings.
    """
    require_pyspark()
    from pyspark.sql import SparkSession

    master = master or DEFAULT_MASTER
    memory = driver_memory or DEFAULT_DRIVER_MEMORY
    if master.startswith("local"):
        # Local runs bind to loopback only: nothing listens on the machine's other interfaces.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # Workers run this interpreter, so they import the same homeprice and libraries.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    # py4j logs each connection it closes at INFO, also from finalizers at interpreter exit,
    # when the streams a host (pytest, a notebook) gave logging may be closed already.
    logging.getLogger("py4j").setLevel(logging.WARNING)
    java_home = find_java_home()
    if java_home:
        os.environ["JAVA_HOME"] = java_home
    builder = (SparkSession.builder.master(master).appName("homeprice")
               .config("spark.driver.memory", memory)
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .config("spark.python.worker.reuse", "true"))
    if master.startswith("local"):
        builder = builder.config("spark.driver.host", "127.0.0.1")
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as error:  # noqa: BLE001 - JVM missing or failing to start
        raise UserInputError(f"cannot start Spark ({master}): {str(error).splitlines()[0]}; "
                             "is Java 17 or 21 installed (JAVA_HOME)?") from error
    session.sparkContext.setLogLevel("ERROR")
    return session
