// Command serviceoffer-controller-runtime is the controller-runtime peer of our ServiceOffer
// controller, for bench/compare.bench.ts: a controller-runtime v0.25 manager that does, for a
// pay-on-success offer, what src/ServiceOfferReconciler.ts does, with the requests a
// straightforward controller-runtime controller makes.
//
// One pass (Reconcile), reading the offer and its children from the manager's cache:
//  1. add the finalizer obol.org/serviceoffer-cleanup (a merge patch with the resourceVersion as
//     optimistic lock) and go on in the same pass, as kubebuilder's examples do;
//  2. server-side apply the PaymentRoute <name>-payment (the spec of src/Children.ts, the same field
//     manager, a controller ownerReference);
//  3. once the verifier admitted it (status.admitted and lastAdmittedGeneration == generation),
//     server-side apply the HTTPRoute so-<name> to the verifier's Service, pinned with the
//     x-obol-route header <route uid>/<admitted generation>; before that, make sure none exists;
//  4. server-side apply the offer's status (UpstreamHealthy, PaymentGateReady, RoutePublished,
//     Registered, Ready, phase, endpoint, price) when it differs from the cached one; RoutePublished
//     is True once the Gateway reports Accepted and ResolvedRefs in the HTTPRoute's status.parents;
//  5. requeue after the health period (30 s, ±10 %), as ours does.
//
// The children are applied on every pass (server-side apply is idempotent: the usual
// controller-runtime pattern), the status only when it changed. Owns(PaymentRoute) and
// Owns(HTTPRoute) bring the offer back on admission and on the Gateway's verdict; For(ServiceOffer)
// uses GenerationChangedPredicate, so our own status writes do not requeue it.
//
// It does not cover: upfront offers (Middleware), ReferenceGrants (run it with the verifier's
// Service in the offers' namespace, the default of -verifier-namespace), registration
// (RegistrationRequest; Registered is always True/Disabled), upstream and model probing
// (UpstreamHealthy is always True), pause, path conflicts between offers, per-MTok prices and
// networks other than base-sepolia and base. Deletion only withdraws the HTTPRoute and releases
// the finalizer (the garbage collector removes the children). It is a benchmark peer, not a
// replacement.
//
// Besides the manager it serves, on -stats-address, /readyz (200 once the three informers have
// synced), /metrics (controller-runtime's registry) and /requests: every request the manager's
// clients sent, counted in the transport, as JSON {"<verb> <resource>[/<subresource>] <outcome>":
// count}, with the verbs of the bench's count of our controller (get, list, watch, create, apply,
// patch, replace, delete, discovery). Everything else is controller-runtime's defaults (the
// priority queue, no client-side rate limit, no leader election).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr/funcr"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
)

var (
	offerGVK     = schema.GroupVersionKind{Group: "obol.org", Version: "v1alpha1", Kind: "ServiceOffer"}
	routeGVK     = schema.GroupVersionKind{Group: "obol.org", Version: "v1alpha1", Kind: "PaymentRoute"}
	httpRouteGVK = schema.GroupVersionKind{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "HTTPRoute"}
)

const (
	finalizer      = "obol.org/serviceoffer-cleanup"
	routePinHeader = "x-obol-route"
)

// network is the part of @obol/x402/Networks this peer needs: the CAIP-2 id and the USDC token.
type network struct {
	caip2, address, eip712Name, eip712Version string
	decimals                                  int64
}

var networks = map[string]network{
	"base-sepolia": {"eip155:84532", "0x036CbD53842c5426634e7929541eC2318f3dCF7e", "USDC", "2", 6},
	"base":         {"eip155:8453", "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", "USD Coin", "2", 6},
}

type settings struct {
	fieldManager      string
	verifierNamespace string // empty: the offer's namespace
	verifierName      string
	verifierPort      int64
	gatewayNamespace  string
	gatewayName       string
	gatewaySection    string
	publicBaseURL     string
	healthPeriod      time.Duration
}

type reconciler struct {
	client.Client
	settings
}

func newObject(gvk schema.GroupVersionKind) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	return u
}

func str(obj map[string]any, fields ...string) string {
	s, _, _ := unstructured.NestedString(obj, fields...)
	return s
}

func integer(obj map[string]any, fields ...string) (int64, bool) {
	v, found, _ := unstructured.NestedFieldNoCopy(obj, fields...)
	if !found {
		return 0, false
	}
	switch n := v.(type) {
	case int64:
		return n, true
	case float64:
		return int64(n), true
	}
	return 0, false
}

func ownerReference(offer *unstructured.Unstructured) map[string]any {
	return map[string]any{
		"apiVersion":         offer.GetAPIVersion(),
		"kind":               offer.GetKind(),
		"name":               offer.GetName(),
		"uid":                string(offer.GetUID()),
		"controller":         true,
		"blockOwnerDeletion": true,
	}
}

func childMetadata(offer *unstructured.Unstructured, name string) map[string]any {
	return map[string]any{
		"name":      name,
		"namespace": offer.GetNamespace(),
		"labels": map[string]any{
			"app.kubernetes.io/managed-by": "serviceoffer-controller",
			"obol.org/serviceoffer":        offer.GetName(),
		},
		"ownerReferences": []any{ownerReference(offer)},
	}
}

func pathOf(offer *unstructured.Unstructured) string {
	if p := str(offer.Object, "spec", "path"); p != "" {
		return p
	}
	return "/services/" + offer.GetName()
}

// atomic converts a decimal price ("0.001") to the token's atomic units ("1000").
func atomicPrice(decimal string, decimals int64) (string, error) {
	r, ok := new(big.Rat).SetString(decimal)
	if !ok || r.Sign() <= 0 {
		return "", fmt.Errorf("price %q is not a positive decimal", decimal)
	}
	r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(decimals), nil)))
	if !r.IsInt() {
		return "", fmt.Errorf("price %q has more than %d decimals", decimal, decimals)
	}
	return r.Num().String(), nil
}

// paymentRoute is src/Children.ts's paymentRoute for a per-request, pay-on-success offer.
func (r *reconciler) paymentRoute(offer *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	spec := offer.Object
	net, ok := networks[str(spec, "spec", "payment", "network")]
	if !ok {
		return nil, fmt.Errorf("network %q is not configured", str(spec, "spec", "payment", "network"))
	}
	perRequest := str(spec, "spec", "payment", "price", "perRequest")
	if perRequest == "" {
		return nil, fmt.Errorf("only perRequest prices are covered by this peer")
	}
	price, err := atomicPrice(perRequest, net.decimals)
	if err != nil {
		return nil, err
	}
	maxTimeout, ok := integer(spec, "spec", "payment", "maxTimeoutSeconds")
	if !ok {
		maxTimeout = 300
	}
	scheme := str(spec, "spec", "payment", "scheme")
	if scheme == "" {
		scheme = "exact"
	}
	offerType := str(spec, "spec", "type")
	if offerType == "" {
		offerType = "http"
	}
	upstreamNamespace := str(spec, "spec", "upstream", "namespace")
	if upstreamNamespace == "" {
		upstreamNamespace = offer.GetNamespace()
	}
	port, _ := integer(spec, "spec", "upstream", "port")
	description := str(spec, "spec", "registration", "description")
	if description == "" {
		description = fmt.Sprintf("%s service %s/%s", offerType, offer.GetNamespace(), offer.GetName())
	}
	route := newObject(routeGVK)
	route.Object["metadata"] = childMetadata(offer, offer.GetName()+"-payment")
	route.Object["spec"] = map[string]any{
		"offer":      map[string]any{"name": offer.GetName(), "uid": string(offer.GetUID())},
		"pattern":    strings.TrimRight(pathOf(offer), "/") + "/*",
		"scheme":     scheme,
		"price":      price,
		"priceModel": "perRequest",
		"payTo":      str(spec, "spec", "payment", "payTo"),
		"network":    net.caip2,
		"asset": map[string]any{
			"address":       net.address,
			"decimals":      net.decimals,
			"eip712Name":    net.eip712Name,
			"eip712Version": net.eip712Version,
		},
		"maxTimeoutSeconds": maxTimeout,
		"settlement":        "onSuccess",
		"upstream": map[string]any{
			"service":   str(spec, "spec", "upstream", "service"),
			"namespace": upstreamNamespace,
			"port":      port,
		},
		"description": description,
	}
	return route, nil
}

// httpRoute is src/Children.ts's httpRoute for a pay-on-success offer: the path to the verifier's
// Service, with the route pin set as a header.
func (r *reconciler) httpRoute(offer *unstructured.Unstructured, pin string) *unstructured.Unstructured {
	maxTimeout, ok := integer(offer.Object, "spec", "payment", "maxTimeoutSeconds")
	if !ok {
		maxTimeout = 300
	}
	backend := map[string]any{"name": r.verifierName, "port": r.verifierPort}
	if r.verifierNamespace != "" && r.verifierNamespace != offer.GetNamespace() {
		backend["namespace"] = r.verifierNamespace
	}
	parent := map[string]any{"namespace": r.gatewayNamespace, "name": r.gatewayName}
	if r.gatewaySection != "" {
		parent["sectionName"] = r.gatewaySection
	}
	route := newObject(httpRouteGVK)
	route.Object["metadata"] = childMetadata(offer, "so-"+offer.GetName())
	route.Object["spec"] = map[string]any{
		"parentRefs": []any{parent},
		"rules": []any{map[string]any{
			"matches": []any{map[string]any{"path": map[string]any{"type": "PathPrefix", "value": pathOf(offer)}}},
			"filters": []any{map[string]any{
				"type": "RequestHeaderModifier",
				"requestHeaderModifier": map[string]any{
					"set": []any{map[string]any{"name": routePinHeader, "value": pin}},
				},
			}},
			"backendRefs": []any{backend},
			"timeouts":    map[string]any{"request": fmt.Sprintf("%ds", max(maxTimeout+120, 60))},
		}},
	}
	return route
}

// offerStatus is the status this peer owns, in the shape ours writes.
type offerStatus struct {
	ObservedGeneration int64              `json:"observedGeneration"`
	Conditions         []metav1.Condition `json:"conditions"`
	Phase              string             `json:"phase"`
	Endpoint           string             `json:"endpoint"`
	Price              string             `json:"price,omitempty"`
}

// routePublished is src/Routing.ts's routePublished: the Gateway's Accepted and ResolvedRefs.
func (r *reconciler) routePublished(route *unstructured.Unstructured, path string) (metav1.ConditionStatus, string, string) {
	parents, _, _ := unstructured.NestedSlice(route.Object, "status", "parents")
	for _, p := range parents {
		parent, _ := p.(map[string]any)
		ns := str(parent, "parentRef", "namespace")
		if ns == "" {
			ns = route.GetNamespace()
		}
		if str(parent, "parentRef", "name") != r.gatewayName || ns != r.gatewayNamespace {
			continue
		}
		conditions, _, _ := unstructured.NestedSlice(parent, "conditions")
		byType := map[string]map[string]any{}
		for _, c := range conditions {
			if m, ok := c.(map[string]any); ok {
				byType[str(m, "type")] = m
			}
		}
		accepted, resolved := byType["Accepted"], byType["ResolvedRefs"]
		if str(accepted, "status") == "True" && str(resolved, "status") == "True" {
			return metav1.ConditionTrue, "Accepted", fmt.Sprintf("the Gateway %s/%s serves %s", r.gatewayNamespace, r.gatewayName, path)
		}
		for _, c := range []map[string]any{accepted, resolved} {
			if c != nil && str(c, "status") != "True" {
				return metav1.ConditionFalse, str(c, "reason"), str(c, "message")
			}
		}
	}
	return metav1.ConditionFalse, "AwaitingGateway", "waiting for the Gateway to accept the route"
}

func (r *reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	offer := newObject(offerGVK)
	if err := r.Get(ctx, req.NamespacedName, offer); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	httpRouteName := "so-" + offer.GetName()

	if !offer.GetDeletionTimestamp().IsZero() {
		if !controllerutil.ContainsFinalizer(offer, finalizer) {
			return ctrl.Result{}, nil
		}
		existing := newObject(httpRouteGVK)
		if err := r.Get(ctx, client.ObjectKey{Namespace: offer.GetNamespace(), Name: httpRouteName}, existing); err == nil {
			if err := r.Delete(ctx, existing); client.IgnoreNotFound(err) != nil {
				return ctrl.Result{}, err
			}
		}
		patch := client.MergeFromWithOptions(offer.DeepCopy(), client.MergeFromWithOptimisticLock{})
		controllerutil.RemoveFinalizer(offer, finalizer)
		return ctrl.Result{}, client.IgnoreNotFound(r.Patch(ctx, offer, patch))
	}

	if !controllerutil.ContainsFinalizer(offer, finalizer) {
		patch := client.MergeFromWithOptions(offer.DeepCopy(), client.MergeFromWithOptimisticLock{})
		controllerutil.AddFinalizer(offer, finalizer)
		if err := r.Patch(ctx, offer, patch); err != nil {
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
	}

	generation := offer.GetGeneration()
	var current offerStatus
	if raw, found, _ := unstructured.NestedMap(offer.Object, "status"); found {
		_ = runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &current)
	}
	conditions := append([]metav1.Condition(nil), current.Conditions...)
	set := func(kind string, status metav1.ConditionStatus, reason, message string) {
		meta.SetStatusCondition(&conditions, metav1.Condition{
			Type: kind, Status: status, Reason: reason, Message: message, ObservedGeneration: generation,
		})
	}
	set("UpstreamHealthy", metav1.ConditionTrue, "Healthy", "ok")

	desired, err := r.paymentRoute(offer)
	if err != nil {
		set("PaymentGateReady", metav1.ConditionFalse, "InvalidPrice", err.Error())
		set("RoutePublished", metav1.ConditionFalse, "PaymentGateNotReady", "the route is withheld until the offer can be priced")
	} else {
		if err := r.Apply(ctx, client.ApplyConfigurationFromUnstructured(desired), client.FieldOwner(r.fieldManager), client.ForceOwnership); err != nil {
			return ctrl.Result{}, err
		}
		route := desired // the server's answer
		admittedFlag, _, _ := unstructured.NestedBool(route.Object, "status", "admitted")
		admittedGeneration, hasAdmitted := integer(route.Object, "status", "lastAdmittedGeneration")
		admitted := admittedFlag && hasAdmitted && admittedGeneration == route.GetGeneration()
		if admitted {
			set("PaymentGateReady", metav1.ConditionTrue, "Admitted", "the x402 verifier serves the current price")
		} else if reason := str(route.Object, "status", "reason"); reason != "" && !admittedFlag {
			set("PaymentGateReady", metav1.ConditionFalse, reason, str(route.Object, "status", "message"))
		} else {
			set("PaymentGateReady", metav1.ConditionFalse, "AwaitingAdmission", "waiting for the x402 verifier to admit the current price")
		}

		existing := newObject(httpRouteGVK)
		getErr := r.Get(ctx, client.ObjectKey{Namespace: offer.GetNamespace(), Name: httpRouteName}, existing)
		if getErr != nil && !apierrors.IsNotFound(getErr) {
			return ctrl.Result{}, getErr
		}
		exists := getErr == nil
		keepsServing := exists && admittedFlag && str(route.Object, "status", "reason") == ""
		switch {
		case admitted:
			published := r.httpRoute(offer, fmt.Sprintf("%s/%d", route.GetUID(), admittedGeneration))
			if err := r.Apply(ctx, client.ApplyConfigurationFromUnstructured(published), client.FieldOwner(r.fieldManager), client.ForceOwnership); err != nil {
				return ctrl.Result{}, err
			}
			status, reason, message := r.routePublished(published, pathOf(offer))
			set("RoutePublished", status, reason, message)
		case keepsServing:
			status, reason, message := r.routePublished(existing, pathOf(offer))
			set("RoutePublished", status, reason, message)
		default:
			if exists {
				if err := r.Delete(ctx, existing); client.IgnoreNotFound(err) != nil {
					return ctrl.Result{}, err
				}
			}
			set("RoutePublished", metav1.ConditionFalse, "AwaitingPaymentGate", "the route is published once the verifier admits the price")
		}
	}
	set("Registered", metav1.ConditionTrue, "Disabled", "registration is off (spec.registration.enabled is not true)")
	ready := metav1.Condition{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Ready", Message: "All conditions are met", ObservedGeneration: generation}
	for _, name := range []string{"UpstreamHealthy", "PaymentGateReady", "RoutePublished"} {
		if c := meta.FindStatusCondition(conditions, name); c.Status != metav1.ConditionTrue {
			ready = metav1.Condition{Type: "Ready", Status: metav1.ConditionFalse, Reason: c.Reason, Message: name + ": " + c.Message, ObservedGeneration: generation}
			break
		}
	}
	meta.SetStatusCondition(&conditions, ready)
	phase := "NotReady"
	if ready.Status == metav1.ConditionTrue {
		phase = "Ready"
	}
	next := offerStatus{
		ObservedGeneration: generation,
		Conditions:         conditions,
		Phase:              phase,
		Endpoint:           strings.TrimRight(r.publicBaseURL, "/") + pathOf(offer),
	}
	if p := str(offer.Object, "spec", "payment", "price", "perRequest"); p != "" {
		next.Price = p + " USDC/request"
	}
	if !equality.Semantic.DeepEqual(current, next) {
		raw, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&next)
		if err != nil {
			return ctrl.Result{}, err
		}
		status := newObject(offerGVK)
		status.SetName(offer.GetName())
		status.SetNamespace(offer.GetNamespace())
		status.Object["status"] = raw
		if err := r.Status().Apply(ctx, client.ApplyConfigurationFromUnstructured(status), client.FieldOwner(r.fieldManager), client.ForceOwnership); err != nil {
			return ctrl.Result{}, err
		}
	}
	jitter := 0.9 + rand.Float64()*0.2
	return ctrl.Result{RequeueAfter: time.Duration(float64(r.healthPeriod) * jitter)}, nil
}

// counter counts the requests that pass through the manager's transports (one per client it
// builds, all counted together).
type counter struct {
	mu     sync.Mutex
	counts map[string]int64
}

type countingTransport struct {
	counter *counter
	next    http.RoundTripper
}

func outcome(code int) string {
	switch {
	case code >= 200 && code < 300:
		return "ok"
	case code == 404:
		return "NotFound"
	case code == 409:
		return "Conflict"
	case code == 410:
		return "Gone"
	case code == 422:
		return "Invalid"
	case code == 429:
		return "TooManyRequests"
	}
	return strconv.Itoa(code)
}

// classify names a request as "<verb> <resource>[/<subresource>]".
func classify(req *http.Request) string {
	parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	var rest []string
	switch {
	case len(parts) >= 2 && parts[0] == "api":
		rest = parts[2:]
	case len(parts) >= 3 && parts[0] == "apis":
		rest = parts[3:]
	}
	if len(rest) >= 2 && rest[0] == "namespaces" && len(rest) != 2 {
		rest = rest[2:]
	}
	if len(rest) == 0 {
		return "discovery " + req.URL.Path
	}
	resource := rest[0]
	named := len(rest) >= 2
	if len(rest) >= 3 {
		resource += "/" + rest[2]
	}
	verb := strings.ToLower(req.Method)
	switch req.Method {
	case http.MethodGet:
		switch {
		case req.URL.Query().Get("watch") == "true" || req.URL.Query().Get("watch") == "1":
			verb = "watch"
		case named:
			verb = "get"
		default:
			verb = "list"
		}
	case http.MethodPost:
		verb = "create"
	case http.MethodPut:
		verb = "replace"
	case http.MethodDelete:
		verb = "delete"
	case http.MethodPatch:
		verb = "patch"
		if strings.HasPrefix(req.Header.Get("Content-Type"), "application/apply-patch") {
			verb = "apply"
		}
	}
	return verb + " " + resource
}

func (t countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	what := classify(req)
	res, err := t.next.RoundTrip(req)
	result := "error"
	if err == nil {
		result = outcome(res.StatusCode)
	}
	t.counter.mu.Lock()
	t.counter.counts[what+" "+result]++
	t.counter.mu.Unlock()
	return res, err
}

func (c *counter) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	c.mu.Lock()
	body, _ := json.Marshal(c.counts)
	c.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

func env(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func main() {
	// --kubeconfig is controller-runtime's own flag (KUBECONFIG works too).
	namespace := flag.String("namespace", env("WATCH_NAMESPACE", ""), "watch ServiceOffers in this namespace only (default all; env WATCH_NAMESPACE)")
	workersDefault, _ := strconv.Atoi(env("CONCURRENCY", "4"))
	workers := flag.Int("workers", workersDefault, "MaxConcurrentReconciles (env CONCURRENCY)")
	statsAddress := flag.String("stats-address", env("STATS_ADDRESS", "127.0.0.1:0"), "address of /readyz and /requests (env STATS_ADDRESS)")
	verifierNamespace := flag.String("verifier-namespace", env("VERIFIER_NAMESPACE", ""), "namespace of the verifier's Service (default: the offer's; no ReferenceGrant is made)")
	healthPeriod := flag.Duration("health-period", 30*time.Second, "requeue period of a reconciled offer (±10 %)")
	flag.Parse()

	verbosity := 0
	if os.Getenv("VERBOSE") != "" {
		verbosity = 2
	}
	ctrl.SetLogger(funcr.New(func(prefix, args string) { fmt.Fprintln(os.Stderr, prefix, args) }, funcr.Options{Verbosity: verbosity}))
	log := ctrl.Log.WithName("serviceoffer-controller-runtime")

	cfg, err := ctrl.GetConfig()
	if err != nil {
		log.Error(err, "no kubeconfig")
		os.Exit(1)
	}
	requests := &counter{counts: map[string]int64{}}
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return countingTransport{counter: requests, next: rt} })

	options := ctrl.Options{
		Metrics: metricsserver.Options{BindAddress: "0"},
		Client:  client.Options{Cache: &client.CacheOptions{Unstructured: true}},
	}
	if *namespace != "" {
		options.Cache = cache.Options{DefaultNamespaces: map[string]cache.Config{*namespace: {}}}
	}
	mgr, err := ctrl.NewManager(cfg, options)
	if err != nil {
		log.Error(err, "manager")
		os.Exit(1)
	}
	r := &reconciler{Client: mgr.GetClient(), settings: settings{
		fieldManager:      env("FIELD_MANAGER", "serviceoffer-controller"),
		verifierNamespace: *verifierNamespace,
		verifierName:      env("VERIFIER_NAME", "x402-verifier"),
		verifierPort:      8080,
		gatewayNamespace:  env("GATEWAY_NAMESPACE", "traefik"),
		gatewayName:       env("GATEWAY_NAME", "traefik-gateway"),
		gatewaySection:    env("GATEWAY_SECTION", "web"),
		publicBaseURL:     env("PUBLIC_BASE_URL", "http://obol.stack:8080"),
		healthPeriod:      *healthPeriod,
	}}
	err = ctrl.NewControllerManagedBy(mgr).
		Named("serviceoffer").
		For(newObject(offerGVK), builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Owns(newObject(routeGVK)).
		Owns(newObject(httpRouteGVK)).
		WithOptions(controller.Options{MaxConcurrentReconciles: *workers}).
		Complete(r)
	if err != nil {
		log.Error(err, "controller")
		os.Exit(1)
	}

	ctx := ctrl.SetupSignalHandler()
	var synced atomic.Bool
	go func() {
		informers := make([]cache.Informer, 0, 3)
		for _, gvk := range []schema.GroupVersionKind{offerGVK, routeGVK, httpRouteGVK} {
			informer, err := mgr.GetCache().GetInformer(ctx, newObject(gvk))
			if err != nil {
				log.Error(err, "informer", "kind", gvk.Kind)
				return
			}
			informers = append(informers, informer)
		}
		for ctx.Err() == nil {
			all := true
			for _, informer := range informers {
				all = all && informer.HasSynced()
			}
			if all {
				synced.Store(true)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	mux := http.NewServeMux()
	mux.Handle("/requests", requests)
	// controller-runtime's own metrics (reconciles, reconcile time, queue wait), as its metrics
	// server would serve them; that server is off so that one free port serves everything.
	mux.Handle("/metrics", promhttp.HandlerFor(crmetrics.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !synced.Load() {
			http.Error(w, "caches not synced", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	listener, err := (&net.ListenConfig{}).Listen(ctx, "tcp", *statsAddress)
	if err != nil {
		log.Error(err, "stats listener")
		os.Exit(1)
	}
	// The bench reads the port from this line when -stats-address asks for any free port.
	fmt.Printf("stats http://%s\n", listener.Addr())
	go func() { _ = http.Serve(listener, mux) }()

	log.Info("starting", "namespace", *namespace, "workers", *workers)
	if err := mgr.Start(ctx); err != nil {
		log.Error(err, "manager stopped")
		os.Exit(1)
	}
}
