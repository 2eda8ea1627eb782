"""FUNCTION FLUSH / LIST on a server without libraries, compared with the oracle."""


def test_function_flush_and_list(diff):
    diff("FUNCTION", "FLUSH")
    diff("FUNCTION", "FLUSH", "ASYNC")
    diff("FUNCTION", "FLUSH", "sync")
    diff("FUNCTION", "FLUSH", "bogus")
    diff("FUNCTION", "FLUSH", "a", "b")
    diff("FUNCTION", "LIST")
    diff("FUNCTION", "LIST", "WITHCODE")
    diff("FUNCTION", "LIST", "LIBRARYNAME", "x*", "WITHCODE")
    diff("FUNCTION", "LIST", "LIBRARYNAME")
    diff("FUNCTION", "LIST", "LIBRARYNAME", "a", "LIBRARYNAME", "b")
    diff("FUNCTION", "LIST", "WITHCODE", "WITHCODE")
    diff("FUNCTION", "LIST", "bogus")
    diff("FUNCTION", "NOSUCH")
