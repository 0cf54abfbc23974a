package export

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrorCodeAndMessage(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantCode string
		wantMsg  string
	}{
		{"Nil", nil, "", ""},
		{"DomainError", Errorf(ENOTFOUND, "export %q not found", "x"), ENOTFOUND, `export "x" not found`},
		{"WrappedDomainError", fmt.Errorf("ctx: %w", Errorf(ECONFLICT, "busy")), ECONFLICT, "busy"},
		{"OtherErrorHidesCause", errors.New("disk /secret/path full"), EINTERNAL, "internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ErrorCode(tt.err); got != tt.wantCode {
				t.Errorf("ErrorCode = %q, want %q", got, tt.wantCode)
			}
			if got := ErrorMessage(tt.err); got != tt.wantMsg {
				t.Errorf("ErrorMessage = %q, want %q", got, tt.wantMsg)
			}
		})
	}
}

func TestWrapKeepsDomainErrors(t *testing.T) {
	err := error(Errorf(EINVALID, "bad"))
	Wrap(&err, "Store.X(%d)", 1)
	if ErrorCode(err) != EINVALID || ErrorMessage(err) != "bad" {
		t.Fatalf("Wrap changed a domain error: %v", err)
	}
	err = errors.New("boom")
	Wrap(&err, "Store.X(%d)", 1)
	if got, want := err.Error(), "Store.X(1): boom"; got != want {
		t.Fatalf("Wrap = %q, want %q", got, want)
	}
}
