"""The data file a process pool shares with its workers: named for its owner, orphans removed."""

import os
import subprocess
import sys

from automl.engine.datafile import remove_orphaned_data_files, write_data_file


def test_data_files_of_dead_processes_are_removed_and_others_kept(tmp_path):
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    dead = tmp_path / f"automl-data-{int(ended.stdout)}-abc.pkl"
    mine = tmp_path / f"automl-data-{os.getpid()}-def.pkl"
    unrelated = [tmp_path / "automl-data-ghi.pkl", tmp_path / "notes-123-x.pkl"]
    for path in (dead, mine, *unrelated):
        path.write_bytes(b"")
    assert remove_orphaned_data_files(str(tmp_path)) == [str(dead)]
    assert not dead.exists() and mine.exists() and all(p.exists() for p in unrelated)


def test_a_data_file_is_named_for_its_process_and_holds_the_data():
    import cloudpickle

    path = write_data_file({"rows": [1, 2, 3]})
    try:
        assert os.path.basename(path).startswith(f"automl-data-{os.getpid()}-")
        with open(path, "rb") as handle:
            assert cloudpickle.load(handle) == {"rows": [1, 2, 3]}
    finally:
        os.unlink(path)
