// Package console is the staff review console served under /console/:
// server-rendered HTML (html/template, embedded assets, no JavaScript),
// signed in with a reviewer or admin token and then an HttpOnly,
// SameSite=Strict session cookie, with a CSRF token on every form. Every
// action goes through export.Service, so the console enforces exactly the
// rules the API does.
package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rexport/rexport/deidentify"
	"github.com/rexport/rexport/export"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Previewer computes what an export would hold without building it.
type Previewer interface {
	Preview(ctx context.Context, e *export.Export, samples int) (*export.Preview, error)
}

// Config is what the console needs.
type Config struct {
	Service *export.Service
	Store   export.Store
	Preview Previewer
	Log     *slog.Logger
	// SecureCookies marks the session cookie Secure (set it when the
	// console is served over HTTPS, as it should be beyond localhost).
	SecureCookies bool
	// SessionTTL is how long a sign-in lasts (default 8 hours).
	SessionTTL time.Duration
	Now        func() time.Time
}

// Cookie names.
const (
	sessionCookie = "rexport_console"
	loginCookie   = "rexport_console_login"
)

// PreviewSamples is how many scrubbed texts a request page shows.
const PreviewSamples = 5

type console struct {
	cfg   Config
	pages map[string]*template.Template
	mu    sync.Mutex
	// sessions maps the SHA-256 of a session cookie to its session.
	sessions map[[32]byte]*session
}

type session struct {
	principalID string
	csrf        string
	expires     time.Time
}

// New returns the console's handler; mount it at /console/.
func New(cfg Config) (http.Handler, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = 8 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &console{cfg: cfg, sessions: map[[32]byte]*session{}, pages: map[string]*template.Template{}}
	funcs := template.FuncMap{
		"join": strings.Join,
		"when": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.UTC().Format("2006-01-02 15:04 UTC")
		},
		"yesno":   yesno,
		"percent": func(f float64) float64 { return f * 100 },
	}
	for _, name := range []string{"login", "queue", "exports", "export", "error"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		c.pages[name] = t
	}
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /console/static/", http.StripPrefix("/console/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /console/{$}", c.home)
	mux.HandleFunc("POST /console/login", c.login)
	mux.HandleFunc("POST /console/logout", c.staff(c.logout))
	mux.HandleFunc("GET /console/queue", c.staff(c.queue))
	mux.HandleFunc("GET /console/exports", c.staff(c.exports))
	mux.HandleFunc("GET /console/exports/{id}", c.staff(c.export))
	mux.HandleFunc("POST /console/exports/{id}/{action}", c.staff(c.act))
	return headers(mux), nil
}

// headers: no framing, no sniffing, no referrer to other sites, nothing but our own
// stylesheet, and no caching of pages that show review data.
func headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		// same-origin, not no-referrer: with no-referrer browsers send
		// "Origin: null" on form posts, and the origin check needs it.
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// view is what every page template gets.
type view struct {
	Title     string
	Principal *export.Principal
	CSRF      string
	Error     string
	Notice    string
	Data      any
}

func (c *console) render(w http.ResponseWriter, status int, page string, v view) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := c.pages[page].Execute(w, v); err != nil {
		c.cfg.Log.Error("console: rendering", "page", page, "err", err)
	}
}

func randomToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// home is the sign-in page, or the queue for a signed-in reviewer.
func (c *console) home(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := c.session(r); ok {
		http.Redirect(w, r, "/console/queue", http.StatusSeeOther)
		return
	}
	c.loginPage(w, http.StatusOK, "")
}

// loginPage sets a fresh login CSRF cookie and the form with its value
// (double submit: a cross-site form cannot read the cookie).
func (c *console) loginPage(w http.ResponseWriter, status int, msg string) {
	tok := randomToken()
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: tok, Path: "/console/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: c.cfg.SecureCookies, MaxAge: 3600})
	c.render(w, status, "login", view{Title: "Sign in", CSRF: tok, Error: msg})
}

func (c *console) login(w http.ResponseWriter, r *http.Request) {
	lc, err := r.Cookie(loginCookie)
	if err != nil || !sameOrigin(r) || !hmac.Equal([]byte(lc.Value), []byte(r.PostFormValue("csrf"))) {
		c.forbidden(w)
		return
	}
	p, err := c.cfg.Service.Authenticate(r.Context(), r.PostFormValue("token"))
	if err != nil || !p.Role.IsStaff() {
		if err != nil && export.ErrorCode(err) == export.EINTERNAL {
			c.cfg.Log.Error("console: sign-in", "err", err)
		}
		c.loginPage(w, http.StatusUnauthorized, "That token is not a valid reviewer or admin token.")
		return
	}
	cookie := randomToken()
	s := &session{principalID: p.ID, csrf: randomToken(), expires: c.cfg.Now().Add(c.cfg.SessionTTL)}
	c.mu.Lock()
	c.sessions[sha256.Sum256([]byte(cookie))] = s
	c.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: cookie, Path: "/console/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: c.cfg.SecureCookies, Expires: s.expires})
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: "", Path: "/console/", MaxAge: -1})
	c.cfg.Log.Info("console: signed in", "principal", p.ID)
	http.Redirect(w, r, "/console/queue", http.StatusSeeOther)
}

// session returns the caller's session and principal: the principal is
// loaded again on every request, so a revoked or expired token ends its
// sessions at once.
func (c *console) session(r *http.Request) (*session, export.Principal, bool) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, export.Principal{}, false
	}
	key := sha256.Sum256([]byte(ck.Value))
	now := c.cfg.Now()
	c.mu.Lock()
	s := c.sessions[key]
	for k, old := range c.sessions {
		if now.After(old.expires) {
			delete(c.sessions, k)
		}
	}
	c.mu.Unlock()
	if s == nil || now.After(s.expires) {
		return nil, export.Principal{}, false
	}
	p, err := c.cfg.Store.Principal(r.Context(), s.principalID)
	if err != nil || !p.Active(now) || !p.Role.IsStaff() {
		return nil, export.Principal{}, false
	}
	return s, p, true
}

type staffHandler func(w http.ResponseWriter, r *http.Request, s *session, p export.Principal)

// staff requires a session; POSTs also need the session's CSRF token and,
// when the browser sends one, an Origin of this server.
func (c *console) staff(h staffHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, p, ok := c.session(r)
		if !ok {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/console/", http.StatusSeeOther)
				return
			}
			c.forbidden(w)
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if !sameOrigin(r) || !hmac.Equal([]byte(s.csrf), []byte(r.PostFormValue("csrf"))) {
				c.cfg.Log.Warn("console: refused a form without a valid CSRF token", "principal", p.ID, "path", r.URL.Path)
				c.forbidden(w)
				return
			}
		}
		h(w, r, s, p)
	}
}

// sameOrigin refuses a request whose Origin header names another site.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return o == ""
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

func (c *console) forbidden(w http.ResponseWriter) {
	c.render(w, http.StatusForbidden, "error", view{Title: "Refused",
		Error: "This form was refused: it did not come from a signed-in console page. Sign in again and retry."})
}

func (c *console) logout(w http.ResponseWriter, r *http.Request, s *session, p export.Principal) {
	c.mu.Lock()
	for k, v := range c.sessions {
		if v == s {
			delete(c.sessions, k)
		}
	}
	c.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/console/", MaxAge: -1})
	http.Redirect(w, r, "/console/", http.StatusSeeOther)
}

// queueRow is one pending request.
type queueRow struct {
	E         *export.Export
	Approvals int
	Required  int
}

func (c *console) queue(w http.ResponseWriter, r *http.Request, s *session, p export.Principal) {
	list, err := c.cfg.Service.Exports(r.Context(), p, export.StateSubmitted, 1000)
	if err != nil {
		c.fail(w, s, p, err)
		return
	}
	slices.Reverse(list) // oldest first
	var rows []queueRow
	for _, e := range list {
		rows = append(rows, queueRow{E: e, Approvals: e.Approvals(), Required: export.ApprovalsRequired(e.Request)})
	}
	c.render(w, http.StatusOK, "queue", view{Title: "Review queue", Principal: &p, CSRF: s.csrf, Data: rows})
}

func (c *console) exports(w http.ResponseWriter, r *http.Request, s *session, p export.Principal) {
	list, err := c.cfg.Service.Exports(r.Context(), p, "", 200)
	if err != nil {
		c.fail(w, s, p, err)
		return
	}
	c.render(w, http.StatusOK, "exports", view{Title: "Exports", Principal: &p, CSRF: s.csrf, Data: list})
}

// check is one line of the request-against-agreement table.
type check struct {
	What, Asked, Allowed string
	OK                   bool
}

// exportPage is the request page.
type exportPage struct {
	E          *export.Export
	Requester  string
	Partner    export.Partner
	Checks     []check
	Approvals  int
	Required   int
	Preview    *export.Preview
	PreviewErr string
	Audit      []export.AuditEntry
	CanDecide  bool
	CanRevoke  bool
}

func (c *console) export(w http.ResponseWriter, r *http.Request, s *session, p export.Principal) {
	c.exportPage(w, r, s, p, http.StatusOK, "", r.URL.Query().Get("done"))
}

func (c *console) exportPage(w http.ResponseWriter, r *http.Request, s *session, p export.Principal, status int, errMsg, notice string) {
	ctx := r.Context()
	e, err := c.cfg.Service.Export(ctx, p, r.PathValue("id"))
	if err != nil {
		c.fail(w, s, p, err)
		return
	}
	partner, err := c.cfg.Store.Partner(ctx, e.PartnerID)
	if err != nil {
		c.fail(w, s, p, err)
		return
	}
	pg := exportPage{E: e, Partner: partner, Approvals: e.Approvals(), Required: export.ApprovalsRequired(e.Request)}
	if req, err := c.cfg.Store.Principal(ctx, e.RequestedBy); err == nil {
		pg.Requester = req.Name + " (" + string(req.Role) + ")"
	}
	pg.Checks = agreementChecks(e, partner, c.cfg.Now())
	pg.CanDecide = export.CheckAction(p, e, export.ActionApprove) == nil && e.RequestedBy != p.ID &&
		!slices.ContainsFunc(e.Decisions, func(d export.Decision) bool { return d.ReviewerID == p.ID })
	pg.CanRevoke = export.CheckAction(p, e, export.ActionRevoke) == nil
	if e.State == export.StateSubmitted && c.cfg.Preview != nil {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		pg.Preview, err = c.cfg.Preview.Preview(pctx, e, PreviewSamples)
		cancel()
		if err != nil {
			pg.PreviewErr = export.ErrorMessage(err)
			if export.ErrorCode(err) == export.EINTERNAL {
				c.cfg.Log.Error("console: preview", "export", e.ID, "err", err)
			}
		}
	}
	if pg.Audit, err = c.cfg.Store.AuditLog(ctx, e.ID); err != nil {
		c.fail(w, s, p, err)
		return
	}
	c.render(w, status, "export", view{Title: "Export " + e.ID, Principal: &p, CSRF: s.csrf, Error: errMsg, Notice: notice, Data: pg})
}

// agreementChecks sets the request beside the partner's agreement.
func agreementChecks(e *export.Export, partner export.Partner, now time.Time) []check {
	dua, req := partner.DUA, e.Request
	var out []check
	for _, t := range req.Tables {
		out = append(out, check{What: "table " + t, Asked: "yes", Allowed: map[bool]string{true: "allowed", false: "not allowed"}[dua.AllowsTable(t)], OK: dua.AllowsTable(t)})
	}
	out = append(out,
		check{What: "free text (scrubbed)", Asked: yesno(req.IncludeFreeText), Allowed: yesno(dua.AllowFreeText), OK: !req.IncludeFreeText || dua.AllowFreeText},
		check{What: "sensitive categories", Asked: yesno(req.IncludeSensitive), Allowed: yesno(dua.AllowSensitive), OK: !req.IncludeSensitive || dua.AllowSensitive},
		check{What: "linkage", Asked: string(req.Linkage), Allowed: linkageAllowed(dua), OK: dua.AllowsLinkage(req.Linkage)},
	)
	prec, perr := deidentify.ParsePrecision(req.TimePrecision)
	finest, ferr := deidentify.ParsePrecision(dua.FinestTimePrecision)
	out = append(out, check{What: "timestamp precision", Asked: string(prec), Allowed: string(finest) + " at finest",
		OK: perr == nil && ferr == nil && !finest.Coarser(prec)})
	period := "open"
	if !dua.StartsOn.IsZero() || !dua.EndsOn.IsZero() {
		period = dateOr(dua.StartsOn, "…") + " to " + dateOr(dua.EndsOn, "…")
	}
	out = append(out, check{What: "agreement in force today", Asked: now.UTC().Format(export.DateLayout), Allowed: period, OK: dua.InForce(now)})
	out = append(out, check{What: "k-anonymity", Asked: "—", Allowed: "k = " + strconv.Itoa(dua.KAnonymity()) + ", l = " + strconv.Itoa(dua.LDiversity()), OK: true})
	return out
}

func yesno(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func linkageAllowed(d export.DUA) string {
	if len(d.AllowedLinkage) == 0 {
		return "partner, request"
	}
	var s []string
	for _, l := range d.AllowedLinkage {
		s = append(s, string(l))
	}
	return strings.Join(s, ", ")
}

func dateOr(t time.Time, or string) string {
	if t.IsZero() {
		return or
	}
	return t.Format(export.DateLayout)
}

// act handles the approve, reject and revoke forms.
func (c *console) act(w http.ResponseWriter, r *http.Request, s *session, p export.Principal) {
	ctx, id := r.Context(), r.PathValue("id")
	var err error
	var done string
	switch r.PathValue("action") {
	case "approve":
		var e *export.Export
		e, err = c.cfg.Service.Approve(ctx, p, id, r.PostFormValue("note"))
		if err == nil {
			done = "approved"
			if e.State == export.StateSubmitted {
				done = "approved; another reviewer must approve too"
			}
		}
	case "reject":
		_, err = c.cfg.Service.Reject(ctx, p, id, r.PostFormValue("reason"))
		done = "rejected"
	case "revoke":
		_, err = c.cfg.Service.Revoke(ctx, p, id, r.PostFormValue("reason"))
		done = "revoked"
	default:
		http.NotFound(w, r)
		return
	}
	if err != nil {
		code := export.ErrorCode(err)
		if code == export.EINTERNAL || code == export.ENOTFOUND {
			c.fail(w, s, p, err)
			return
		}
		c.exportPage(w, r, s, p, statusOf(code), export.ErrorMessage(err), "")
		return
	}
	c.cfg.Log.Info("console: action", "principal", p.ID, "export", id, "action", r.PathValue("action"))
	http.Redirect(w, r, "/console/exports/"+url.PathEscape(id)+"?done="+url.QueryEscape(done), http.StatusSeeOther)
}

func statusOf(code string) int {
	switch code {
	case export.EINVALID:
		return http.StatusBadRequest
	case export.EFORBIDDEN:
		return http.StatusForbidden
	case export.ENOTFOUND:
		return http.StatusNotFound
	case export.ECONFLICT:
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

// fail renders an error page; internal causes go to the log only.
func (c *console) fail(w http.ResponseWriter, s *session, p export.Principal, err error) {
	code := export.ErrorCode(err)
	msg := export.ErrorMessage(err)
	if code == export.EINTERNAL {
		c.cfg.Log.Error("console", "err", err)
	}
	var csrf string
	if s != nil {
		csrf = s.csrf
	}
	if errors.Is(err, context.DeadlineExceeded) {
		msg = "timed out"
	}
	c.render(w, statusOf(code), "error", view{Title: "Error", Principal: &p, CSRF: csrf, Error: msg})
}
