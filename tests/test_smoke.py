def test_ping_and_set_get_match_oracle(diff):
    diff("PING")
    diff("SET", "k", "v")
    diff("GET", "k")
    diff("GET", "missing")
    diff("NOSUCHCOMMAND", "a", "b")
    diff("GET")
