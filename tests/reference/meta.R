# Reference values for trial_analysis.meta from R's metafor.
#
# Run from the repository root:   Rscript tests/reference/meta.R
# Writes tests/fixtures/meta_data/*.csv (metafor's own data sets, so the Python tests need no R)
# and tests/fixtures/meta_from_r.py (stamped, DO NOT EDIT).
#
# Convergence is tightened (threshold/tol 1e-12) so that the fixtures hold the estimators'
# exact roots rather than metafor's default stopping point (threshold 1e-5); the Python
# implementation iterates to full precision and is compared at tolerance 1e-6.
suppressMessages(library(metafor))

out_dir <- "tests/fixtures"
dat_dir <- file.path(out_dir, "meta_data")
dir.create(dat_dir, showWarnings = FALSE, recursive = TRUE)

ctrl <- list(threshold = 1e-12, maxiter = 10000, tol = 1e-12)

## ---- data sets ---------------------------------------------------------------------------
bcg <- dat.bcg[, c("trial", "author", "year", "tpos", "tneg", "cpos", "cneg", "ablat")]
normand <- dat.normand1999[, c("study", "source", "n1i", "m1i", "sd1i", "n2i", "m2i", "sd2i")]
hack <- dat.hackshaw1998[, c("study", "author", "year", "yi", "vi")]
niel <- dat.nielweise2007[, c("study", "author", "year", "ai", "n1i", "ci", "n2i")]
write.csv(bcg, file.path(dat_dir, "bcg.csv"), row.names = FALSE)
write.csv(normand, file.path(dat_dir, "normand1999.csv"), row.names = FALSE)
write.csv(hack, file.path(dat_dir, "hackshaw1998.csv"), row.names = FALSE)
write.csv(niel, file.path(dat_dir, "nielweise2007.csv"), row.names = FALSE)

## ---- python literal writer ---------------------------------------------------------------
num <- function(x) {
  x <- as.numeric(x)
  s <- ifelse(is.na(x), "NAN", ifelse(is.infinite(x), ifelse(x > 0, "INF", "-INF"),
                                      formatC(x, digits = 17, format = "g")))
  s
}
pyval <- function(x) {
  if (length(x) == 1) return(num(unname(x)))
  paste0("[", paste(num(x), collapse = ", "), "]")
}
pydict <- function(lst) {
  items <- vapply(names(lst), function(n) paste0("\"", n, "\": ", pyval(lst[[n]])), "")
  paste0("{", paste(items, collapse = ", "), "}")
}
lines <- character(0)
emit <- function(...) lines <<- c(lines, paste0(...))
key <- function(...) paste0("(", paste0("\"", c(...), "\"", collapse = ", "), ")")

## ---- escalc ------------------------------------------------------------------------------
emit("ESCALC = {")
esc <- list(
  bcg_RR = escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg),
  bcg_OR = escalc("OR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg),
  bcg_RD = escalc("RD", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg),
  niel_RR = escalc("RR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = niel),
  niel_OR = escalc("OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = niel),
  niel_RD = escalc("RD", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = niel),
  normand_MD = escalc("MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i,
                      n2i = n2i, data = normand),
  normand_SMD = escalc("SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i,
                       n2i = n2i, data = normand)
)
for (nm in names(esc)) {
  emit("    \"", nm, "\": ", pydict(list(yi = c(esc[[nm]]$yi), vi = c(esc[[nm]]$vi))), ",")
}
emit("}")

## ---- rma.uni: every estimator x test, with confint() and predict() -----------------------
sets <- list(bcg_RR = esc$bcg_RR, normand_SMD = esc$normand_SMD, normand_MD = esc$normand_MD,
             hackshaw = escalc(yi = yi, vi = vi, data = hack))
methods <- c("FE", "DL", "HE", "SJ", "ML", "REML", "PM")
emit("")
emit("RMA = {")
for (s in names(sets)) for (m in methods) for (tst in c("z", "knha")) {
  d <- sets[[s]]
  r <- rma(yi, vi, data = d, method = m, test = tst, control = ctrl)
  p <- predict(r)
  v <- list(estimate = r$beta[1], se = r$se, zval = r$zval, pval = r$pval,
            ci_low = r$ci.lb, ci_high = r$ci.ub, tau2 = r$tau2, i2 = r$I2, h2 = r$H2,
            q = r$QE, q_p = r$QEp, pi_low = p$pi.lb, pi_high = p$pi.ub)
  if (m != "FE") {
    ci <- confint(r, control = list(tol = 1e-12))$random
    v$tau2_ci <- ci["tau^2", c("ci.lb", "ci.ub")]
    v$i2_ci <- ci["I^2(%)", c("ci.lb", "ci.ub")]
    v$h2_ci <- ci["H^2", c("ci.lb", "ci.ub")]
  }
  emit("    ", key(s, m, tst), ": ", pydict(v), ",")
}
emit("}")

## ---- leave1out, cumul (by year), influence -----------------------------------------------
emit("")
emit("LEAVE1OUT = {")
for (s in c("bcg_RR", "hackshaw")) for (m in c("DL", "REML", "PM", "SJ")) for (tst in c("z", "knha")) {
  r <- rma(yi, vi, data = sets[[s]], method = m, test = tst, control = ctrl)
  l <- leave1out(r)
  emit("    ", key(s, m, tst), ": ", pydict(list(estimate = l$estimate, se = l$se,
       zval = if (is.null(l$zval)) l$tval else l$zval, pval = l$pval, ci_low = l$ci.lb, ci_high = l$ci.ub, q = l$Q, q_p = l$Qp,
       tau2 = l$tau2, i2 = l$I2, h2 = l$H2)), ",")
}
emit("}")

emit("")
emit("CUMUL = {")
for (s in c("bcg_RR", "hackshaw")) for (m in c("DL", "REML")) for (tst in c("z", "knha")) {
  d <- sets[[s]]
  yr <- if (s == "bcg_RR") bcg$year else hack$year
  o <- order(yr)
  r <- rma(yi, vi, data = d[o, ], method = m, test = tst, control = ctrl)
  cm <- suppressWarnings(cumul(r))
  emit("    ", key(s, m, tst), ": ", pydict(list(estimate = cm$estimate, se = cm$se,
       ci_low = cm$ci.lb, ci_high = cm$ci.ub, pval = cm$pval, q = cm$Q, tau2 = cm$tau2,
       i2 = cm$I2)), ",")
}
emit("}")

emit("")
emit("INFLUENCE = {")
for (s in c("bcg_RR", "hackshaw")) for (m in c("DL", "REML")) for (tst in c("z", "knha")) {
  r <- rma(yi, vi, data = sets[[s]], method = m, test = tst, control = ctrl)
  inf <- influence(r)
  emit("    ", key(s, m, tst), ": ", pydict(list(rstudent = inf$inf$rstudent,
       dffits = inf$inf$dffits, cook_d = inf$inf$cook.d, cov_r = inf$inf$cov.r,
       tau2_del = inf$inf$tau2.del, q_del = inf$inf$QE.del, hat = inf$inf$hat,
       weight = inf$inf$weight, dfbetas = inf$dfbs$intrcpt)), ",")
}
emit("}")

## ---- Egger (regtest) and Begg (ranktest) -------------------------------------------------
emit("")
emit("REGTEST = {")
for (s in c("bcg_RR", "hackshaw", "normand_SMD")) for (m in c("FE", "DL", "REML")) for (tst in c("z", "knha")) {
  r <- rma(yi, vi, data = sets[[s]], method = m, test = tst, control = ctrl)
  e <- regtest(r)
  emit("    ", key(s, m, tst, "rma"), ": ", pydict(list(zval = e$zval, pval = e$pval,
       est = e$est, ci_low = e$ci.lb, ci_high = e$ci.ub)), ",")
}
for (s in c("bcg_RR", "hackshaw", "normand_SMD")) {
  r <- rma(yi, vi, data = sets[[s]], method = "FE", control = ctrl)
  e <- regtest(r, model = "lm")
  emit("    ", key(s, "FE", "z", "lm"), ": ", pydict(list(zval = e$zval, pval = e$pval,
       est = e$est, ci_low = e$ci.lb, ci_high = e$ci.ub, df = e$dfs)), ",")
}
emit("}")

emit("")
emit("RANKTEST = {")
for (s in c("bcg_RR", "hackshaw", "normand_SMD")) {
  r <- rma(yi, vi, data = sets[[s]], method = "REML", control = ctrl)
  rk <- suppressWarnings(ranktest(r))
  ties <- any(duplicated(sets[[s]]$vi))
  emit("    \"", s, "\": ", pydict(list(tau = rk$tau, pval = rk$pval, ties = as.numeric(ties))), ",")
}
emit("}")

## ---- Mantel-Haenszel and Peto ------------------------------------------------------------
emit("")
emit("MH = {")
for (s in c("bcg", "niel")) for (ms in c("OR", "RR", "RD")) {
  r <- if (s == "bcg") rma.mh(ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg, measure = ms)
       else rma.mh(ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = niel, measure = ms)
  emit("    ", key(s, ms), ": ", pydict(list(estimate = r$beta[1], se = r$se, zval = r$zval,
       pval = r$pval, ci_low = r$ci.lb, ci_high = r$ci.ub, q = r$QE, q_p = r$QEp, i2 = r$I2,
       h2 = r$H2, cmh = if (is.null(r$MH)) NA else r$MH, cmh_p = if (is.null(r$MHp)) NA else r$MHp,
       tarone = if (is.null(r$TA)) NA else r$TA, tarone_p = if (is.null(r$TAp)) NA else r$TAp)), ",")
}
emit("}")

emit("")
emit("PETO = {")
for (s in c("bcg", "niel")) {
  r <- if (s == "bcg") rma.peto(ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg)
       else rma.peto(ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = niel)
  emit("    \"", s, "\": ", pydict(list(estimate = r$beta[1], se = r$se, zval = r$zval,
       pval = r$pval, ci_low = r$ci.lb, ci_high = r$ci.ub, q = r$QE, q_p = r$QEp, i2 = r$I2,
       h2 = r$H2)), ",")
}
emit("}")

## ---- write the module --------------------------------------------------------------------
header <- c(
  paste0("\"\"\"Reference values from R metafor ", as.character(packageVersion("metafor")), "."),
  "",
  paste0("Generated by tests/reference/meta.R on ", format(Sys.Date()), " with ",
         R.version.string, ", metafor ", as.character(packageVersion("metafor")), "."),
  "DO NOT EDIT: rerun the script (Rscript tests/reference/meta.R) instead.",
  "\"\"\"",
  "",
  "# ruff: noqa",
  "from math import inf as INF, nan as NAN",
  "",
  paste0("R_VERSION = \"", R.version.string, "\""),
  paste0("METAFOR_VERSION = \"", as.character(packageVersion("metafor")), "\""),
  "")
writeLines(c(header, lines), file.path(out_dir, "meta_from_r.py"))
cat("wrote", file.path(out_dir, "meta_from_r.py"), "\n")
